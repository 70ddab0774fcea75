// deepsc encode --conv-dict: convolutional sparse coding of signals [N, C, H, W] (or [N, C, L])
// over W [M, C, k, k] (or [M, C, k]), codes [N, M, H', W'], by any solver of the registry that
// runs on a convolutional dictionary (threshold, ista, fista, admm with stride 1).
#include "command_support.h"
#include "encode_options.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/solver_registry.h"
#include "deepsc/data/npy_tensor.h"

namespace deepsc::cli {

void run_conv_encode(const EncodeOptions& o, Context& ctx) {
  const auto device = parse_device(ctx.runtime.device);
  auto w = load_float_array(o.conv_dict, "--conv-dict", std::vector<int64_t>{3, 4});
  auto y = load_float_array(o.signals, "--signals", w.dim());
  if (w.scalar_type() != y.scalar_type()) {
    throw std::invalid_argument("--conv-dict is " + dtype_name(w.scalar_type()) + " but --signals is " +
                                dtype_name(y.scalar_type()) + "; save both with one dtype");
  }
  const auto geometry = conv::ConvOptions().stride(o.stride).padding(o.padding).dilation(o.dilation);
  conv::ConvDictionary dict(w.to(device), conv::ConvDictionary::options_for_signals(w.sizes(), y.sizes(), geometry),
                            o.normalize);
  y = y.to(device);
  dict.check_signals(y, "--signals");
  const auto run = conv::solver_registry().run(o.solver, dict, y, solver_request(o));
  data::save_npy(o.out, run.result.codes.cpu());
  const auto& g = dict.options();
  report_encoding(o, ctx, run, y.size(0), y.scalar_type(),
                  {{"conv_dict_shape", w.sizes().vec()},
                   {"signal_shape", y.sizes().vec()},
                   {"code_shape", run.result.codes.sizes().vec()},
                   {"stride", g.stride()},
                   {"padding", g.padding()},
                   {"dilation", g.dilation()},
                   {"output_padding", g.output_padding()}});
}

}  // namespace deepsc::cli
