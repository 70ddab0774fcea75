// Downstream use of deepsc::formats alone: write a .npy atomically and read it back.
#include <deepsc/data/npy.h>

#include <cstring>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: formats_consumer DIR\n";
    return 2;
  }
  deepsc::npy::Array a;
  a.dtype = deepsc::npy::DType::Float64;
  a.shape = {2};
  const double values[2] = {1.5, -2.0};
  a.data.resize(sizeof values);
  std::memcpy(a.data.data(), values, sizeof values);
  const std::string path = std::string(argv[1]) + "/consumer.npy";
  deepsc::npy::write(path, a);
  const deepsc::npy::Array b = deepsc::npy::read(path);
  std::cout << "formats_consumer: read back " << b.numel() << " values\n";
  return b.data == a.data && b.shape == a.shape ? 0 : 1;
}
