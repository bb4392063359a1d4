// attend.Model, attend.Trainer and attend.train (see include/attend/model.h, train.h).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>

#include "arrays.h"
#include "convert.h"
#include "attend/model.h"
#include "attend/train.h"
#include "core/check.h"
#include "nn/model_impl.h"
#include "nn/model_io.h"
#include "registry.h"

namespace attend::python {

namespace {

using nn::Model;

// A config dict (any subset of ModelConfig's fields) over the defaults; unknown keys are errors.
nn::ModelConfig config_from_dict(const py::dict& d) {
  py::module_ json = py::module_::import("json");
  py::dict full = json.attr("loads")(nn::config_to_json(nn::ModelConfig{})).cast<py::dict>();
  for (auto item : d) {
    const std::string key = py::str(item.first);
    if (!full.contains(key)) {
      std::string names;
      for (auto k : full) names += (names.empty() ? "" : ", ") + py::str(k.first).cast<std::string>();
      detail::fail("Model", "unknown config key '", key, "' (", names, ")");
    }
    full[item.first] = item.second;
  }
  return nn::config_from_json(json.attr("dumps")(full).cast<std::string>(), "config");
}

py::dict config_dict(const nn::ModelConfig& c) {
  return py::module_::import("json").attr("loads")(nn::config_to_json(c)).cast<py::dict>();
}

// logits [N, V] as a new float32 array (copied out of the Tensor).
py::array logits_array(const Tensor& t) {
  py::array out = new_array("Model.forward", DType::f32, {t.dim(0), t.dim(1)}, py::none());
  std::memcpy(out.mutable_data(), t.data(), static_cast<std::size_t>(t.numel()) * sizeof(float));
  return out;
}

// The task data and the trainer over a model kept alive by `model_ref`.
struct PyTrainer {
  py::object model_ref;
  std::unique_ptr<nn::TaskData> data;
  std::unique_ptr<nn::Trainer> trainer;
};

nn::TrainConfig train_config(std::int64_t steps, std::int64_t batch, std::int64_t accum, float lr, float min_lr, std::int64_t warmup,
                             float weight_decay, float clip, std::uint64_t seed, std::int64_t log_every) {
  nn::TrainConfig tc;
  tc.steps = steps;
  tc.batch = batch;
  tc.accum = accum;
  tc.lr = lr;
  tc.min_lr = min_lr;
  tc.warmup = warmup;
  tc.weight_decay = weight_decay;
  tc.clip = clip;
  tc.seed = seed;
  tc.log_every = log_every;
  return tc;
}

std::unique_ptr<PyTrainer> make_trainer(const py::object& model_obj, const std::string& task, std::int64_t seq_len,
                                        const std::string& data, const nn::TrainConfig& tc) {
  auto t = std::make_unique<PyTrainer>();
  t->model_ref = model_obj;
  Model& model = model_obj.cast<Model&>();
  const std::int64_t T = seq_len > 0 ? seq_len : model.config().context;
  t->data = std::make_unique<nn::TaskData>(nn::parse_task(task), model.config().vocab, T, data);
  t->trainer = std::make_unique<nn::Trainer>(model, *t->data, tc);
  return t;
}

py::list curve_list(const std::vector<nn::CurvePoint>& curve) {
  py::list out;
  for (const nn::CurvePoint& p : curve) {
    py::dict d;
    d["step"] = p.step;
    d["loss"] = p.loss;
    d["lr"] = p.lr;
    d["tokens_per_s"] = p.tokens_per_s;
    d["grad_norm"] = p.grad_norm;
    out.append(d);
  }
  return out;
}

const char* const kTrainerArgsDoc = R"doc(
    task: 'induction' | 'induction-random' | 'copy' | 'sort' | 'text' (text: byte-level, vocab 256, `data` a file path).
    seq_len: tokens per sequence (0: the model's context). steps: total optimizer steps.
    batch: sequences per micro-batch; accum: micro-batches per step. lr, min_lr, warmup: linear
    warm-up then cosine decay. weight_decay (AdamW), clip (global grad-norm, 0 = off), seed (data
    order: the batch of step s depends only on (seed, s)), log_every (progress line to stderr).)doc";

void bind_model(py::module_& m) {
  py::class_<Model>(m, "Model", R"doc(A decoder-only transformer (GPT-2 family) on attend's kernels.

    Model(config: dict | None = None, seed: int = 0)   randomly initialised
    Model.load(path)                                   a Hugging Face folder (gpt2, llama, mistral, qwen2;
                                                       weights mapped, kept in their dtype, its tokenizer),
                                                       a GGUF file (llama, qwen2) or attend's layout
  config keys (any subset; the rest default): vocab, context, d_model, layers, heads, kv_heads,
  d_ff, norm ('layernorm'|'rmsnorm'), position ('learned'|'rope'), mlp ('gelu'|'swiglu'),
  tied_embeddings, rope_base, norm_eps, bias. The GIL is released during forward/generate.)doc")
      .def(py::init([](const py::object& config, std::uint64_t seed) {
             if (!config.is_none() && !py::isinstance<py::dict>(config))
               detail::fail("Model", "config must be a dict or None, got ", describe(config));
             const nn::ModelConfig c = config.is_none() ? nn::ModelConfig{} : config_from_dict(config.cast<py::dict>());
             py::gil_scoped_release release;
             return std::make_unique<Model>(c, seed);
           }),
           py::arg("config") = py::none(), py::arg("seed") = 0)
      .def_static("load", [](const std::string& path) {
            py::gil_scoped_release release;
            return std::make_unique<Model>(Model::load(path));
          }, py::arg("path"), "Loads a Hugging Face folder (config.json + safetensors, with the tokenizer files beside them), its config.json, a GGUF file (with its embedded tokenizer), or a safetensors file (attend's layout, GPT-2's), validating names, shapes and dtypes against the configuration.")
      .def("save", [](const Model& self, const std::string& path) {
            py::gil_scoped_release release;
            self.save(path);
          }, py::arg("path"), "Writes the model as safetensors, atomically.")
      .def_property_readonly("config", [](const Model& self) { return config_dict(self.config()); }, "The configuration as a dict.")
      .def_property_readonly("num_parameters", [](const Model& self) { return self.num_parameters(); })
      .def("parameters", [](const Model& self) {
            py::dict d;
            const auto& impl = self.impl();
            for (const nn::ParamSpec& s : impl.specs) {
              std::vector<py::ssize_t> shape(s.shape.begin(), s.shape.end());
              py::array_t<float> a(shape);
              const std::vector<float> v = impl.materialize(s);  // any storage: a loaded model keeps its stored dtype
              std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
              d[py::str(s.name)] = a;
            }
            return d;
          }, "Every parameter by its attend layout name (tok_emb, pos_emb, h.<l>.attn.wq [E, H·D] in the x·W convention, …): float32 copies.")
      .def("set_parameters", [](Model& self, const py::dict& values) {
            auto& impl = self.impl();
            impl.make_trainable();  // a loaded model: its weights become an f32 copy that can be written
            for (auto item : values) {
              const std::string name = py::str(item.first);
              const nn::ParamSpec* spec = nullptr;
              for (const nn::ParamSpec& s : impl.specs)
                if (s.name == name) spec = &s;
              if (!spec) detail::fail("Model.set_parameters", "no parameter '", name, "'");
              const auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(item.second);
              if (!a || a.size() != spec->size) detail::fail("Model.set_parameters", "'", name, "' takes ", spec->size, " float values");
              std::memcpy(impl.params.data() + spec->offset, a.data(), static_cast<std::size_t>(spec->size) * sizeof(float));
            }
          }, py::arg("values"), "Overwrites the named parameters (same names and sizes as parameters()).")
      .def("encode", [](const Model& self, const std::string& text, bool add_special) { return self.encode(text, add_special); },
           py::arg("text"), py::arg("add_special") = true,
           "Text -> token ids with the checkpoint's tokenizer (bytes for a byte-level model); add_special: BOS where the tokenizer adds one.")
      .def("decode", [](const Model& self, const py::object& tokens) {
            const std::vector<std::int32_t> ids = to_int32s("Model.decode", "tokens", tokens);
            const std::string bytes = self.decode(ids);
            return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "replace"));
          }, py::arg("tokens"), "Token ids -> text (str; bytes that are not valid UTF-8 become U+FFFD).")
      .def_property_readonly("eos_token", &Model::eos_token, "The tokenizer's end-of-sequence id (-1: none).")
      .def_property_readonly("tokenizer", &Model::tokenizer_description, "What the model's tokenizer is.")
      .def("decode_token", [](const Model& self, const py::object& t) {
            const auto id = static_cast<std::int32_t>(to_int("Model.decode_token", "token", t, 0, self.config().vocab - 1));
            return py::bytes(self.decode_token(id));
          }, py::arg("token"),
           "The bytes a token stands for.")
      .def("forward", [](const Model& self, const py::object& tokens) {
            const std::vector<std::int32_t> ids = to_int32s("Model.forward", "tokens", tokens);
            Tensor logits;
            {
              py::gil_scoped_release release;
              logits = self.forward(ids);
            }
            return logits_array(logits);
          }, py::arg("tokens"), "tokens: [N] ints (N <= context) -> logits: float32 [N, V].")
      .def("generate", [](const Model& self, const py::object& prompt, std::int64_t max_new_tokens, float temperature, std::int64_t top_k,
                          float top_p, std::uint64_t seed, const py::object& stop_token, bool use_cache, const py::object& on_token) {
            const std::vector<std::int32_t> ids = to_int32s("Model.generate", "prompt", prompt);
            Model::GenerateOptions o;
            o.max_new_tokens = max_new_tokens;
            o.temperature = temperature;
            o.top_k = top_k;
            o.top_p = top_p;
            o.seed = seed;
            o.stop_token = static_cast<std::int32_t>(to_int("Model.generate", "stop_token", stop_token, -1, kInt32Max));
            o.use_cache = use_cache;
            std::function<bool(std::int32_t)> cb;
            if (!on_token.is_none())
              cb = [&on_token](std::int32_t t) {
                py::gil_scoped_acquire gil;  // the callback runs Python
                const py::object r = on_token(t);
                return r.is_none() || PyObject_IsTrue(r.ptr()) == 1;  // Python truthiness
              };
            py::gil_scoped_release release;
            return self.generate(ids, o, cb);
          },
          py::arg("prompt"), py::kw_only(), py::arg("max_new_tokens") = 32, py::arg("temperature") = 1.0f, py::arg("top_k") = 0,
          py::arg("top_p") = 1.0f, py::arg("seed") = 0, py::arg("stop_token") = -1, py::arg("use_cache") = true,
          py::arg("on_token") = py::none(),
          R"doc(Generates after `prompt` ([N] ints); returns the new tokens (list of int).

    temperature 0 = greedy; top_k 0 = off; top_p 1 = off; seed makes sampling reproducible.
    stop_token: stop after emitting it (-1: none). use_cache=False recomputes the whole sequence
    per token (same tokens). on_token(t) sees each token as it is chosen; returning False stops.)doc");
}

void bind_trainer(py::module_& m) {
  static const std::string trainer_doc = std::string(R"doc(Trains a Model on a built-in task (AdamW, clipping, warm-up + cosine).

    Trainer(model, task='induction', seq_len=0, data='', *, steps=1000, batch=16, accum=1, lr=1e-3,
            min_lr=1e-4, warmup=50, weight_decay=0.1, clip=1.0, seed=0, log_every=0)
)doc") + kTrainerArgsDoc;
  static const std::string train_doc = std::string("Trains `model` in place (as Trainer(...).run()) and returns the loss curve.\n") + kTrainerArgsDoc;
  py::class_<PyTrainer>(m, "Trainer", trainer_doc.c_str())
      .def(py::init([](const py::object& model, const std::string& task, std::int64_t seq_len, const std::string& data, std::int64_t steps,
                       std::int64_t batch, std::int64_t accum, float lr, float min_lr, std::int64_t warmup, float weight_decay, float clip,
                       std::uint64_t seed, std::int64_t log_every) {
             return make_trainer(model, task, seq_len, data,
                                 train_config(steps, batch, accum, lr, min_lr, warmup, weight_decay, clip, seed, log_every));
           }),
           py::arg("model"), py::arg("task") = "induction", py::arg("seq_len") = 0, py::arg("data") = "", py::kw_only(),
           py::arg("steps") = 1000, py::arg("batch") = 16, py::arg("accum") = 1, py::arg("lr") = 1e-3f, py::arg("min_lr") = 1e-4f,
           py::arg("warmup") = 50, py::arg("weight_decay") = 0.1f, py::arg("clip") = 1.0f, py::arg("seed") = 0, py::arg("log_every") = 0)
      .def("step", [](PyTrainer& t) {
            py::gil_scoped_release release;
            return t.trainer->step();
          }, "One optimizer step; returns its mean loss.")
      .def("run", [](PyTrainer& t) {
            py::gil_scoped_release release;
            t.trainer->run();
          }, "Steps until `steps`.")
      .def_property_readonly("steps_done", [](const PyTrainer& t) { return t.trainer->steps_done(); })
      .def_property_readonly("curve", [](const PyTrainer& t) { return curve_list(t.trainer->curve()); },
                             "Loss curve: list of dicts step, loss, lr, tokens_per_s, grad_norm.")
      .def_property_readonly("phase_times", [](const PyTrainer& t) {
            const nn::PhaseTimes& p = t.trainer->phase_times();
            py::dict d;
            d["data"] = p.data;
            d["forward"] = p.forward;
            d["backward"] = p.backward;
            d["optimizer"] = p.optimizer;
            d["attention_forward"] = p.attention_forward;
            d["attention_backward"] = p.attention_backward;
            return d;
          }, "Seconds per phase summed over the steps so far (attention_* are part of forward/backward).")
      .def("lr_at", [](const PyTrainer& t, std::int64_t s) { return t.trainer->lr_at(s); }, py::arg("step"))
      .def("accuracy", [](const PyTrainer& t, std::int64_t sequences, std::uint64_t seed) {
            py::gil_scoped_release release;
            return nn::evaluate_accuracy(t.model_ref.cast<const Model&>(), *t.data, sequences, seed);
          }, py::arg("sequences") = 256, py::arg("seed") = 1, "Held-out next-token accuracy on the scored targets.")
      .def("eval_loss", [](const PyTrainer& t, std::int64_t sequences, std::uint64_t seed) {
            py::gil_scoped_release release;
            return nn::evaluate_loss(t.model_ref.cast<const Model&>(), *t.data, sequences, seed);
          }, py::arg("sequences") = 256, py::arg("seed") = 1, "Held-out mean loss.")
      .def("save_checkpoint", [](const PyTrainer& t, const std::string& path) {
            py::gil_scoped_release release;
            t.trainer->save_checkpoint(path);
          }, py::arg("path"), "Model + AdamW moments + step + curve, atomically.")
      .def("load_checkpoint", [](PyTrainer& t, const std::string& path) {
            py::gil_scoped_release release;
            t.trainer->load_checkpoint(path);
          }, py::arg("path"), "Resumes: weights, moments, step and curve.");

  m.def("train", [](const py::object& model, const std::string& task, std::int64_t seq_len, const std::string& data, std::int64_t steps,
                    std::int64_t batch, std::int64_t accum, float lr, float min_lr, std::int64_t warmup, float weight_decay, float clip,
                    std::uint64_t seed, std::int64_t log_every) {
          auto t = make_trainer(model, task, seq_len, data,
                                train_config(steps, batch, accum, lr, min_lr, warmup, weight_decay, clip, seed, log_every));
          {
            py::gil_scoped_release release;
            t->trainer->run();
          }
          return curve_list(t->trainer->curve());
        },
        py::arg("model"), py::arg("task") = "induction", py::arg("seq_len") = 0, py::arg("data") = "", py::kw_only(),
        py::arg("steps") = 1000, py::arg("batch") = 16, py::arg("accum") = 1, py::arg("lr") = 1e-3f, py::arg("min_lr") = 1e-4f,
        py::arg("warmup") = 50, py::arg("weight_decay") = 0.1f, py::arg("clip") = 1.0f, py::arg("seed") = 0, py::arg("log_every") = 0,
        train_doc.c_str());
}

void bind(py::module_& m) {
  bind_model(m);
  bind_trainer(m);
}

const Registrar registrar("model", 50, bind);

}  // namespace
}  // namespace attend::python
