// Helper for the fault-injection test (faults.sh). KIND is one of attend's writers:
//   bytes        write_file_atomically of BYTES all-'a' (version 0) or all-'b' (version 1)
//   npy          write_npy of a [64, 1024] f32 array (values depend on the version)
//   safetensors  Model::save of a small model (weights depend on the version)
//   png          write_png of a 512x512 image
//   report       observe::write_report of a 2-layer recording (a folder of HTML, JSON, PNG, GraphML)
// Modes:
//   fault_writer once KIND PATH VERSION   write version 0 or 1 once (the references)
//   fault_writer loop KIND PATH           rewrite PATH forever, alternating versions 0 and 1
//   fault_writer limited KIND PATH        write version 1 under a 64 KiB file-size limit (a full
//                                         disk): must fail with a message and leave PATH as it was
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "attend/error.h"
#include "attend/image.h"
#include "attend/io.h"
#include "attend/model.h"
#include "attend/observe.h"
#include "attend/observe_report.h"

namespace {

constexpr std::size_t kBytes = 4000000;

attend::observe::Recording recording(int version) {
  using namespace attend::observe;
  Recording rec;
  const std::int64_t n = 96;
  rec.title = version ? "version B" : "version A";
  rec.n = n;
  rec.heads = 2;
  std::mt19937 rng(static_cast<unsigned>(version + 1));
  std::uniform_real_distribution<float> u(0, 4);
  for (std::int64_t i = 0; i < n; ++i) {
    rec.token_ids.push_back(static_cast<int>(rng() % 20));
    rec.tokens.push_back("t" + std::to_string(rec.token_ids.back()));
  }
  for (int l = 0; l < 2; ++l) {
    LayerRecord lr;
    lr.layer = l;
    lr.selected = true;
    lr.full_heads = {0, 1};
    for (int h = 0; h < 2; ++h) {
      std::vector<float> w(static_cast<std::size_t>(n * n), 0.0f);
      for (std::int64_t i = 0; i < n; ++i) {  // a causal softmax row of random scores
        double z = 0;
        for (std::int64_t j = 0; j <= i; ++j) z += w[static_cast<std::size_t>(i * n + j)] = std::exp(u(rng));
        for (std::int64_t j = 0; j <= i; ++j) w[static_cast<std::size_t>(i * n + j)] = static_cast<float>(w[static_cast<std::size_t>(i * n + j)] / z);
      }
      lr.weights.push_back(std::move(w));
      lr.scores.emplace_back();
    }
    rec.layers.push_back(std::move(lr));
  }
  return rec;
}

void write(const std::string& kind, const std::string& path, int version) {
  if (kind == "bytes") {
    attend::write_file_atomically(path, std::string(kBytes, version ? 'b' : 'a'));
  } else if (kind == "npy") {
    attend::Tensor t(attend::DType::f32, {64, 1024});
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data_as<float>()[i] = static_cast<float>(i % 977) + static_cast<float>(version);
    attend::write_npy(path, t.view());
  } else if (kind == "safetensors") {
    attend::nn::ModelConfig c;
    c.vocab = 64, c.context = 64, c.d_model = 64, c.layers = 2, c.heads = 4, c.kv_heads = 4, c.d_ff = 256;
    attend::nn::Model(c, static_cast<std::uint64_t>(version + 1)).save(path);
  } else if (kind == "png") {
    attend::Image img(512, 512);
    for (int y = 0; y < 512; ++y)
      for (int x = 0; x < 512; ++x)
      {  // hashed pixels: incompressible, so the PNG is large enough to exceed the 64 KiB limit
        const std::uint32_t h = (static_cast<std::uint32_t>(x) * 73856093u) ^ (static_cast<std::uint32_t>(y) * 19349663u) ^
                                (static_cast<std::uint32_t>(version) * 83492791u);
        const std::uint32_t m = h * 2654435761u;
        img.set(x, y, {static_cast<std::uint8_t>(m >> 24), static_cast<std::uint8_t>(m >> 16), static_cast<std::uint8_t>(m >> 8)});
      }
    attend::write_png(path, img);
  } else if (kind == "report") {
    attend::observe::write_report(recording(version), path);
  } else {
    std::fprintf(stderr, "unknown kind '%s'\n", kind.c_str());
    std::exit(2);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: fault_writer once|loop|limited KIND PATH [VERSION]\n");
    return 2;
  }
  const std::string mode = argv[1], kind = argv[2], path = argv[3];
  try {
    if (mode == "once" && argc == 5) {
      write(kind, path, std::atoi(argv[4]));
      return 0;
    }
    if (mode == "loop") {
      for (unsigned i = 0;; ++i) write(kind, path, static_cast<int>(i & 1));
    }
    if (mode == "limited") {
      std::signal(SIGXFSZ, SIG_IGN);  // exceeding the limit then fails write() with EFBIG instead of killing us
      rlimit lim{64 * 1024, 64 * 1024};
      setrlimit(RLIMIT_FSIZE, &lim);
      write(kind, path, 1);
      return 0;
    }
  } catch (const attend::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 2;
}
