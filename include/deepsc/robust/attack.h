#pragma once
/// Adversarial examples against image classifiers: the fast gradient sign method (FGSM; Goodfellow,
/// Shlens & Szegedy, "Explaining and harnessing adversarial examples", ICLR 2015) and projected
/// gradient descent (PGD; Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards deep learning models
/// resistant to adversarial attacks", ICLR 2018).
///
/// Both look for a perturbation δ per image that raises the classifier's cross-entropy:
///   max_δ CE(f(x + δ), y)   s.t.  ‖δ‖ ≤ ε  and  x + δ ∈ [0, 1]  (every pixel)
/// with ‖·‖ the ℓ∞ or the ℓ2 norm of the whole image (all channels and pixels of one sample).
/// PGD takes `steps` steps of size α from x⁰ (x itself, or a random point of the ball):
///   ℓ∞:  x^{t+1} = clip_[0,1]( x + clip_[−ε,ε]( x^t + α sign(∇) − x ) )
///   ℓ2:  x^{t+1} = clip_[0,1]( x + Π_ε( x^t + α ∇ / ‖∇‖₂ − x ) ),  Π_ε(δ) = δ · min(1, ε / ‖δ‖₂)
/// with ∇ = ∇_x CE(f(x^t), y) for each sample (ℓ2 norms per sample). Clipping to [0, 1] after the
/// projection only moves pixels towards x (which lies in [0, 1]), so the result stays in the ball:
/// every iterate is feasible. FGSM is one such step of size ε from x without random start (for ℓ2,
/// the "fast gradient method" x + ε ∇ / ‖∇‖₂). PGD returns the last iterate.
///
/// The model is given as a function of images in [0, 1] (normalising them is its business), so
/// ε is measured in pixel units of [0, 1] (8/255 is the usual CIFAR ℓ∞ budget). Gradients are
/// taken with torch::autograd::grad with respect to the images only: the model's parameters and
/// their .grad are never touched. The caller puts the model in eval mode (batch-norm statistics
/// and dropout must not change while attacking).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

namespace deepsc::robust {

/// The norm of the threat model.
enum class Norm { Linf, L2 };

/// Parses "linf" | "l2"; throws std::invalid_argument otherwise.
Norm parse_norm(const std::string& name);
/// "linf" | "l2".
const char* norm_name(Norm norm);

/// A number given as a decimal ("0.5", "1e-3") or a fraction ("8/255" → 0.031372...), as budgets
/// are usually written. Throws std::invalid_argument for anything else (empty text, trailing
/// characters, a zero denominator, a result that is not finite).
double parse_fraction(const std::string& text);

struct AttackOptions {
  TORCH_ARG(Norm, norm) = Norm::Linf;
  /// ε ≥ 0, radius of the ball in pixel units of [0, 1]; 0 returns the images unchanged.
  TORCH_ARG(double, eps) = 8.0 / 255;
  /// Gradient steps ≥ 1 (1 with step_size = eps and no random start is FGSM).
  TORCH_ARG(int64_t, steps) = 10;
  /// α; ≤ 0 selects 2.5 ε / steps (Madry et al. 2018), enough to cross the ball from any start.
  TORCH_ARG(double, step_size) = 0;
  /// Start at a uniformly random point of the ball around each image: ℓ∞ uniform in the box
  /// [−ε, ε]^d; ℓ2 uniform in the ball, direction g/‖g‖ with g ~ N(0, I) and radius ε u^{1/d},
  /// u ~ U(0, 1), d = C·H·W (so, in high dimension, close to the sphere); then clipped to [0, 1].
  TORCH_ARG(bool, random_start) = true;
  /// Seed of the random start, drawn from a CPU generator: the same on every device and thread
  /// count. (LibTorch's CPU generator keeps the low 32 bits of the seed.)
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Throws std::invalid_argument (one line naming the option) for ε < 0 or not finite, steps < 1,
/// or a step size that is not finite.
void check_attack_options(const AttackOptions& options);

/// α actually used: step_size when > 0, else 2.5 ε / steps.
double resolved_step_size(const AttackOptions& options);

/// The attacked model: images [N, C, H, W] in [0, 1] → logits [N, K] (differentiable).
using Logits = std::function<torch::Tensor(const torch::Tensor& images01)>;

/// PGD adversarial examples (see the file comment): images [N, ...] floating point with values in
/// [0, 1], labels [N] int64 (class indices) on the images' device → adversarial images, same shape,
/// dtype and device, detached, with ‖x_adv − x‖ ≤ ε per sample and x_adv ∈ [0, 1]. All samples are
/// attacked at once (one forward and one backward of the model per step). Works under a
/// torch::NoGradGuard (gradient mode is switched on inside). Throws std::invalid_argument for bad
/// options, images that are not floating point or lie outside [0, 1], labels that do not match,
/// or logits that are not [N, K].
torch::Tensor pgd(const Logits& model, const torch::Tensor& images, const torch::Tensor& labels,
                  const AttackOptions& options);

/// FGSM: one step of size ε from the images, no random start (pgd with steps 1, step_size ε).
torch::Tensor fgsm(const Logits& model, const torch::Tensor& images, const torch::Tensor& labels, double eps,
                   Norm norm = Norm::Linf);

}  // namespace deepsc::robust
