// Calls the model runtime (attend::nn::Model::config). Linked as part of the kernels layer it must
// NOT link; linked as part of a layer above nn it must (tests/layering/CMakeLists.txt). The
// declaration is written out because a kernels-layer file cannot include attend/model.h.
namespace attend::nn {
struct ModelConfig;
class Model {
 public:
  const ModelConfig& config() const;
};
}  // namespace attend::nn
const attend::nn::ModelConfig& layering_probe(const attend::nn::Model& m) { return m.config(); }
