#include "deepsc/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "deepsc/data/image_file.h"

namespace fs = std::filesystem;

namespace deepsc::data {

bool is_image_file(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, const std::string& split) {
  const fs::path dir = fs::path(root) / split;
  const std::string layout = " (expected " + dir.string() + "/<class>/*.png|jpg|jpeg)";
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::invalid_argument("folder data set: " + dir.string() + ": not a directory" + layout);
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory(ec)) classes_.push_back(entry.path().filename().string());
  if (ec) throw std::invalid_argument("folder data set: " + dir.string() + ": " + ec.message());
  if (classes_.empty())
    throw std::invalid_argument("folder data set: " + dir.string() + ": no class sub-folders" + layout);
  std::sort(classes_.begin(), classes_.end());
  for (size_t c = 0; c < classes_.size(); ++c) {
    const fs::path class_dir = dir / classes_[c];
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(
             class_dir, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && is_image_file(it->path().string())) found.push_back(it->path().string());
    if (ec) throw std::invalid_argument("folder data set: " + class_dir.string() + ": " + ec.message());
    if (found.empty())
      throw std::invalid_argument("folder data set: " + class_dir.string() +
                                  ": no .png, .jpg or .jpeg images in this class folder");
    std::sort(found.begin(), found.end());
    for (auto& f : found) {
      files_.push_back(std::move(f));
      labels_.push_back(static_cast<int64_t>(c));
    }
  }
}

const std::string& ImageFolderDataset::path(int64_t index) const {
  if (index < 0 || index >= size())
    throw std::out_of_range("ImageFolderDataset: index " + std::to_string(index) + " outside [0, " +
                            std::to_string(size()) + ")");
  return files_[static_cast<size_t>(index)];
}

int64_t ImageFolderDataset::label(int64_t index) const {
  path(index);  // range check
  return labels_[static_cast<size_t>(index)];
}

Example ImageFolderDataset::get(int64_t index) const {
  const std::string& file = path(index);
  const image::Image img = image::read(file);
  torch::Tensor t = torch::empty({image::kChannels, img.height, img.width}, torch::kByte);
  std::memcpy(t.data_ptr<uint8_t>(), img.pixels.data(), img.pixels.size());
  return Example{t, labels_[static_cast<size_t>(index)]};
}

}  // namespace deepsc::data
