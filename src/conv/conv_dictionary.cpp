#include "deepsc/conv/conv_dictionary.h"

#include "deepsc/conv/transposed_convolution.h"

#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

std::string shape_string(c10::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

void check_options(const ConvOptions& o) {
  if (o.stride() < 1) throw std::invalid_argument("stride must be >= 1, got " + std::to_string(o.stride()));
  if (o.padding() < 0) throw std::invalid_argument("padding must be >= 0, got " + std::to_string(o.padding()));
  if (o.dilation() < 1) throw std::invalid_argument("dilation must be >= 1, got " + std::to_string(o.dilation()));
  // conv_transpose allows output padding below the stride or the dilation.
  auto check_output_padding = [&](int64_t q) {
    if (q < 0 || q >= std::max(o.stride(), o.dilation()))
      throw std::invalid_argument("output padding must be in [0, max(stride, dilation)), got " + std::to_string(q));
  };
  check_output_padding(o.output_padding());
  if (o.output_padding_last() != -1) check_output_padding(o.output_padding_last());
}

}  // namespace

ConvDictionary::ConvDictionary(torch::Tensor weights, ConvOptions options, bool normalize)
    : w_(std::move(weights)), options_(options) {
  if (!w_.defined() || (w_.dim() != 3 && w_.dim() != 4)) {
    throw std::invalid_argument("convolutional dictionary must be [M, C, k] or [M, C, k, k], got " +
                                (w_.defined() ? shape_string(w_.sizes()) : std::string("nothing")));
  }
  if (!w_.is_floating_point()) throw std::invalid_argument("convolutional dictionary must be floating point");
  for (int64_t d = 0; d < w_.dim(); ++d)
    if (w_.size(d) == 0) throw std::invalid_argument("convolutional dictionary has an empty dimension: " + shape_string(w_.sizes()));
  if (!torch::isfinite(w_).all().item<bool>()) throw std::invalid_argument("convolutional dictionary has non-finite entries");
  check_options(options_);
  w_ = w_.contiguous();
  if (normalize) {
    auto norms = w_.reshape({w_.size(0), -1}).norm(2, {1});
    if ((norms == 0).any().item<bool>()) throw std::invalid_argument("cannot normalise a zero atom");
    std::vector<int64_t> shape(w_.dim(), 1);
    shape[0] = w_.size(0);
    w_ = w_ / norms.view(shape);
  }
}

void ConvDictionary::set_weights(const torch::Tensor& weights) {
  if (!weights.defined() || weights.sizes() != w_.sizes()) {
    throw std::invalid_argument("new weights must have the dictionary's shape " + shape_string(w_.sizes()) + ", got " +
                                (weights.defined() ? shape_string(weights.sizes()) : std::string("nothing")));
  }
  w_ = weights.to(w_.options()).contiguous();
  invalidate_lipschitz();
}

std::vector<int64_t> ConvDictionary::code_shape(c10::IntArrayRef signal_shape) const {
  const int64_t dims = spatial_dims();
  if (static_cast<int64_t>(signal_shape.size()) != dims + 2) {
    throw std::invalid_argument("signals must be [N, C" + std::string(dims == 2 ? ", H, W]" : ", L]") +
                                " for a dictionary of shape " + shape_string(w_.sizes()) + ", got " +
                                shape_string(signal_shape));
  }
  if (signal_shape[1] != channels()) {
    throw std::invalid_argument("signals have " + std::to_string(signal_shape[1]) + " channels but the dictionary " +
                                shape_string(w_.sizes()) + " has " + std::to_string(channels()));
  }
  const auto& o = options_;
  std::vector<int64_t> out{signal_shape[0], num_atoms()};
  for (int64_t d = 0; d < dims; ++d) {
    const int64_t size = signal_shape[2 + d], k = w_.size(2 + d);
    const int64_t span = o.dilation() * (k - 1) + 1;
    if (size + 2 * o.padding() < span) {
      throw std::invalid_argument("signals " + shape_string(signal_shape) + " are smaller than one atom of span " +
                                  std::to_string(span) + " (with padding " + std::to_string(o.padding()) + ")");
    }
    const int64_t code = (size + 2 * o.padding() - span) / o.stride() + 1;
    // conv_transpose gives back (code − 1)s − 2p + span + q; it must be the signal's size.
    const int64_t needed = size - ((code - 1) * o.stride() - 2 * o.padding() + span);
    const int64_t has = o.output_padding_of(d, dims);
    if (needed != has) {
      throw std::invalid_argument("signals " + shape_string(signal_shape) + " with stride " + std::to_string(o.stride()) +
                                  " and padding " + std::to_string(o.padding()) + " need output padding " +
                                  std::to_string(needed) + " on axis " + std::to_string(d) + ", the dictionary has " +
                                  std::to_string(has));
    }
    out.push_back(code);
  }
  return out;
}

int64_t ConvDictionary::output_padding_for(int64_t size, int64_t k, const ConvOptions& o) {
  if (o.stride() < 1 || o.dilation() < 1) check_options(o);
  const int64_t span = o.dilation() * (k - 1) + 1;
  if (size + 2 * o.padding() < span) return 0;  // too small: code_shape() names the problem
  const int64_t code = (size + 2 * o.padding() - span) / o.stride() + 1;
  return size - ((code - 1) * o.stride() - 2 * o.padding() + span);
}

ConvOptions ConvDictionary::options_for_signals(c10::IntArrayRef kernel, c10::IntArrayRef signal_shape,
                                               ConvOptions options) {
  check_options(ConvOptions(options).output_padding(0).output_padding_last(-1));
  const auto shape_text = [&] { return c10::str(signal_shape); };
  if (kernel.size() < 3 || kernel.size() != signal_shape.size()) {
    throw std::invalid_argument("atoms of rank " + std::to_string(kernel.size()) + " do not fit signals " +
                                shape_text());
  }
  const int64_t limit = std::max(options.stride(), options.dilation());
  std::vector<int64_t> q;
  for (size_t d = 2; d < kernel.size(); ++d) {
    q.push_back(output_padding_for(signal_shape[d], kernel[d], options));
    if (q.back() < 0 || q.back() >= limit) {
      throw std::invalid_argument("stride " + std::to_string(options.stride()) + " and padding " +
                                  std::to_string(options.padding()) + " cannot give back signals " + shape_text());
    }
  }
  options.output_padding(q.front());
  options.output_padding_last(q.back() != q.front() ? q.back() : -1);
  return options;
}

torch::Tensor ConvDictionary::apply(const torch::Tensor& codes) const {
  const auto& o = options_;
  if (spatial_dims() == 2) {
    return transposed_conv2d(codes, w_, o.stride(), o.padding(), {o.output_padding_of(0, 2), o.output_padding_of(1, 2)},
                             o.dilation());
  }
  return torch::conv_transpose1d(codes, w_, {}, o.stride(), o.padding(), o.output_padding(), 1, o.dilation());
}

torch::Tensor ConvDictionary::adjoint(const torch::Tensor& signals) const {
  const auto& o = options_;
  if (spatial_dims() == 2) return torch::conv2d(signals, w_, {}, o.stride(), o.padding(), o.dilation());
  return torch::conv1d(signals, w_, {}, o.stride(), o.padding(), o.dilation());
}

torch::Tensor ConvDictionary::scaled_adjoint(const torch::Tensor& signals, double scale, const torch::Tensor& bias) const {
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != num_atoms())) {
    std::ostringstream msg;
    msg << "scaled_adjoint bias must be [" << num_atoms() << "] (one per atom), got " << bias.sizes();
    throw std::invalid_argument(msg.str());
  }
  const auto& o = options_;
  const auto w = w_ * scale;
  if (spatial_dims() == 2) return torch::conv2d(signals, w, bias, o.stride(), o.padding(), o.dilation());
  return torch::conv1d(signals, w, bias, o.stride(), o.padding(), o.dilation());
}

}  // namespace deepsc::conv
