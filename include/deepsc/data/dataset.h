#pragma once
/// \file
/// Everything for feeding image classifiers, in one include: the Dataset interface and
/// TensorDataset (image_dataset.h), the standard data sets (open_dataset.h), image folders
/// (image_folder.h), transforms (transforms.h) and the multi-threaded DataLoader (loader.h).

#include "deepsc/data/image_dataset.h"  // IWYU pragma: export
#include "deepsc/data/image_folder.h"   // IWYU pragma: export
#include "deepsc/data/loader.h"         // IWYU pragma: export
#include "deepsc/data/open_dataset.h"   // IWYU pragma: export
#include "deepsc/data/transforms.h"     // IWYU pragma: export
