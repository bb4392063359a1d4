// Hostile and careless file handling: atomic writes (modes, unnamed temporaries, stale clean-up),
// readers that refuse what is not a regular file, bounded JSON headers, numpy's .npy header rules.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "attend/attend.h"
#include "attend/safetensors.h"
#include "io/atomic_file.h"
#include "nn/model_io.h"

namespace attend {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "attend_hard_XXXXXX").string();
    path = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

unsigned mode_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void set_mtime_ago(const std::string& p, int seconds) {
  const auto t = fs::file_time_type::clock::now() - std::chrono::seconds(seconds);
  fs::last_write_time(p, t);
}

// Finding 7: an overwritten 0600 file stayed private only by luck; every output was forced to 0644.
TEST(AtomicWrite, KeepsTheModeOfAnExistingFileAndNewFilesFollowTheUmask) {
  TempDir d;
  for (io::TempKind kind : {io::TempKind::unnamed, io::TempKind::named}) {
    const std::string secret = d / "secret.npy";
    io::write_file_atomically(secret, {"one"}, kind);
    ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
    io::write_file_atomically(secret, {"two"}, kind);
    EXPECT_EQ(mode_of(secret), 0600u) << "an overwrite must keep 0600";
    EXPECT_EQ(read_file(secret), "two");
    ASSERT_EQ(::chmod(secret.c_str(), 0640), 0);
    io::write_file_atomically(secret, {"three"}, kind);
    EXPECT_EQ(mode_of(secret), 0640u);
    const mode_t old = ::umask(027);
    const std::string fresh = d / (kind == io::TempKind::named ? "fresh_named.bin" : "fresh.bin");
    io::write_file_atomically(fresh, {"x"}, kind);
    ::umask(old);
    EXPECT_EQ(mode_of(fresh), 0640u) << "a new file gets 0666 & ~umask (umask 027)";
    fs::remove(secret);
  }
}

// Finding 5: a killed save left *.tmp.XXXXXX files that nothing removed.
TEST(AtomicWrite, LeavesNoTemporaryAndRemovesOnlyStaleOnesOfItsOwnPattern) {
  TempDir d;
  for (io::TempKind kind : {io::TempKind::unnamed, io::TempKind::named}) {
    for (int i = 0; i < 5; ++i) io::write_file_atomically(d / "a.bin", {std::string(1000 + i, 'x')}, kind);
    EXPECT_EQ(listing(d.path), std::vector<std::string>{"a.bin"});
  }
  const std::string stale = d / ".a.bin.attend-tmp-Qw3rTy", fresh = d / ".a.bin.attend-tmp-Fr35hh",
                    foreign = d / "a.bin.tmp.123456", stale_dir = d / ".rep.attend-tmp-0ld0ld", lookalike = d / ".a.attend-tmp-toolong7";
  for (const std::string& p : {stale, fresh, foreign, lookalike}) std::ofstream(p) << "junk";
  fs::create_directories(stale_dir + "/sub");
  std::ofstream(stale_dir + "/sub/heatmap.png") << "junk";
  for (const std::string& p : {stale, foreign, lookalike}) set_mtime_ago(p, 1200);
  set_mtime_ago(stale_dir, 1200);
  io::write_file_atomically(d / "a.bin", {"new"}, io::TempKind::unnamed);
  EXPECT_FALSE(fs::exists(stale)) << "stale temporary (20 minutes old) of our pattern";
  EXPECT_FALSE(fs::exists(stale_dir)) << "stale temporary report folder";
  EXPECT_TRUE(fs::exists(fresh)) << "a fresh temporary may be a concurrent writer's";
  EXPECT_TRUE(fs::exists(foreign)) << "not our pattern: never ours to delete";
  EXPECT_TRUE(fs::exists(lookalike)) << "not exactly our pattern";
  EXPECT_TRUE(io::is_temp_name(io::temp_name("model.safetensors")));
  EXPECT_FALSE(io::is_temp_name("model.safetensors.tmp.AbC123"));
}

TEST(AtomicWrite, RefusesToReplaceADirectory) {
  TempDir d;
  fs::create_directories(d / "out.npy");
  EXPECT_NE(error_of([&] { write_file_atomically(d / "out.npy", "x"); }).find("is a directory"), std::string::npos);
}

// Finding 4: report folders were written file by file; now the folder is replaced as one unit.
TEST(ReportFolder, IsReplacedAsOneUnitAndForeignFoldersAreRefused) {
  TempDir d;
  auto rec = [](int heads, const std::string& title) {
    observe::Recording r;
    r.title = title;
    r.n = 4;
    r.heads = heads;
    for (int i = 0; i < 4; ++i) r.token_ids.push_back(i), r.tokens.push_back(std::string(1, static_cast<char>('a' + i)));
    observe::LayerRecord lr;
    lr.selected = true;
    for (int h = 0; h < heads; ++h) {
      lr.full_heads.push_back(h);
      std::vector<float> w(16, 0.0f);
      for (int i = 0; i < 4; ++i) w[static_cast<std::size_t>(i * 4)] = 1.0f;
      lr.weights.push_back(w);
      lr.scores.emplace_back();
    }
    r.layers.push_back(lr);
    return r;
  };
  const std::string out = d / "report";
  observe::write_report(rec(3, "first"), out);
  EXPECT_TRUE(fs::exists(out + "/heatmap_L0_H2.png"));
  observe::write_report(rec(1, "second"), out);
  EXPECT_FALSE(fs::exists(out + "/heatmap_L0_H2.png")) << "files of the old report must not survive beside the new one";
  EXPECT_NE(read_file(out + "/recording_summary.json").find("second"), std::string::npos);
  EXPECT_EQ(listing(d.path), std::vector<std::string>{"report"}) << "no temporary folder left";
  // A folder with someone else's file is never replaced (that would delete the file).
  std::ofstream(out + "/notes.txt") << "mine";
  EXPECT_NE(error_of([&] { observe::write_report(rec(1, "third"), out); }).find("notes.txt"), std::string::npos);
  EXPECT_TRUE(fs::exists(out + "/notes.txt"));
  EXPECT_NE(read_file(out + "/recording_summary.json").find("second"), std::string::npos);
  // An empty folder the user made is fine.
  fs::create_directories(d / "empty");
  observe::write_report(rec(1, "x"), d / "empty");
  EXPECT_TRUE(fs::exists(d / "empty/report.html"));
}

// Finding 3: /dev/zero read until memory ran out; a FIFO blocked; a directory read as 0 bytes.
TEST(Readers, RefuseDirectoriesFifosAndDevicesByName) {
  TempDir d;
  const std::string fifo = d / "pipe.npy";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const auto& [path_, kind] : std::vector<std::pair<std::string, std::string>>{
           {d.path, "a directory"}, {fifo, "FIFO"}, {"/dev/zero", "character device"}}) {
    const std::string& path = path_;  // a plain reference: clang 14 cannot capture structured bindings
    for (const auto& fn : std::vector<std::function<void()>>{[&] { (void)read_file(path); }, [&] { (void)read_npy(path); },
                                                             [&] { (void)read_safetensors(path); },
                                                             [&] { (void)nn::Model::load(path); }}) {
      const std::string msg = error_of(fn);
      EXPECT_NE(msg.find(kind), std::string::npos) << msg;
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
    }
  }
  EXPECT_NE(error_of([&] { nn::TaskData(nn::Task::text, 256, 8, d.path); }).find("a directory"), std::string::npos);
}

std::string safetensors_raw(const std::string& header, const std::string& data = {}) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

// Finding 3: a 98 MB header nested 49 million levels deep cost 3.6 GB and seconds before rejection.
TEST(Safetensors, DeepNestingIsRefusedBeforeItCostsMemory) {
  const std::size_t depth = 20'000'000;  // 40 MB of header: ~1.5 GB of nested values if parsed
  const std::string deep = safetensors_raw(R"({"a":{"dtype":"F32","shape":)" + std::string(depth, '[') + std::string(depth, ']') + "}}");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(error_of([&] { (void)parse_safetensors(deep, "deep"); }).find("nests deeper than 3 levels"), std::string::npos);
  // Refused at the second '[': far below a full parse (seconds). Generous for a loaded machine.
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);
  EXPECT_NE(error_of([&] { (void)parse_safetensors(safetensors_raw(std::string(depth, '[')), "flood"); }).find("not a JSON object"),
            std::string::npos);
  // Nesting inside the metadata strings the model loader parses is bounded too.
  const std::string nested_config = R"({"__metadata__":{"attend_config":"[[[[[[[[1]]]]]]]]"}})";
  EXPECT_NE(error_of([&] { (void)nn::load_model_file(parse_safetensors(safetensors_raw(nested_config), "c"), "c"); })
                .find("nests deeper"),
            std::string::npos);
  // A flat header costs memory too: a million tiny metadata entries (10 MB of text, ~0.2 GB as
  // entries) exceed what a file of this size may cost (16 MiB + 2x the file) and are refused.
  std::string flat = R"({"__metadata__":{)";
  for (int i = 0; i < 1'000'000; ++i) flat += (i ? ",\"" : "\"") + std::to_string(i) + "\":\"\"";
  flat += "}}";
  EXPECT_NE(error_of([&] { (void)parse_safetensors(safetensors_raw(flat), "flat"); }).find("more than a file of its size can hold"),
            std::string::npos);
  // Duplicate keys (a JSON tree keeps one silently) are refused.
  EXPECT_NE(error_of([&] {
              (void)parse_safetensors(safetensors_raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                                      R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                                      std::string(8, '\0')),
                                      "dup");
            }).find("'a' appears twice"),
            std::string::npos);
  // A legitimate file still parses.
  EXPECT_NO_THROW((void)parse_safetensors(safetensors_raw(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(4, '\0')), "ok"));
}

std::string npy_raw(const std::string& dict, const std::string& data) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  return out + header + data;
}

// Finding 6: extra keys and duplicate keys were read where numpy rejects them or reads otherwise.
TEST(NpyHeader, FollowsNumpysKeyRules) {
  const std::string f4(24, '\0'), f2(12, '\0');
  auto err = [](const std::string& dict, const std::string& data) { return error_of([&] { (void)parse_npy(npy_raw(dict, data), "x"); }); };
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f2', }", f2).find("'descr' twice"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'extra': '<f4', }", f4).find("'extra'"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'shape': (2, 3), }", f4).find("lacks 'fortran_order'"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", f4).find("not a tuple"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f4).find("'<f8'"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }", f4).find("fortran_order"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), } x", f4).find("after its dict"), std::string::npos);
  // What numpy writes, and harmless variations of it, are read with the declared dtype and shape.
  for (const std::string& dict : {std::string("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"),
                                  std::string("{\"shape\": (2,3), \"descr\": \"<f4\", \"fortran_order\": False}"),
                                  std::string("{'fortran_order':False,'descr':'=f4','shape':(2, 3,)}")}) {
    const Tensor t = parse_npy(npy_raw(dict, f4), "ok");
    EXPECT_EQ(t.dtype(), DType::f32) << dict;
    EXPECT_EQ(t.view().shape_string(), "[2, 3]") << dict;
  }
  EXPECT_EQ(parse_npy(npy_raw("{'descr': '<f2', 'fortran_order': False, 'shape': (6,), }", f2), "f2").dtype(), DType::f16);
  EXPECT_EQ(parse_npy(npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", std::string(4, '\0')), "scalar").numel(), 1);
}

// The same headers through numpy itself (Debian's /usr/bin/python3): whatever attend accepts,
// numpy accepts with the same dtype and shape; whatever numpy rejects, attend rejects.
TEST(NpyHeader, AgreesWithNumpy) {
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) GTEST_SKIP() << "no numpy in /usr/bin/python3";
  TempDir d;
  const std::vector<std::string> dicts = {
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f2', }",
      "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f4', }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1, }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1, }",
      "{'descr': '<f4', 'fortran_order': False, }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }",
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3,), }",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}",
      "{'descr': '>f4', 'fortran_order': False, 'shape': (6,), }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
      "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }",
      "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (True, 6), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (06,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }",
      "['descr', 'fortran_order', 'shape']",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } junk",
      "{'descr': '=f4', 'fortran_order': False, 'shape': (1, 2, 3), }",
      "{'Descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
  };
  std::string paths;
  for (std::size_t i = 0; i < dicts.size(); ++i) {
    const std::string path = d / ("h" + std::to_string(i) + ".npy");
    std::ofstream(path, std::ios::binary) << npy_raw(dicts[i], std::string(24, '\0'));
    paths += " " + path;
  }
  // One numpy run for all files: "float32 [2, 3]" or "reject" per line.
  const std::string out = d / "numpy.txt";
  const std::string cmd = "/usr/bin/python3 -c \"import numpy, sys\nfor p in sys.argv[1:]:\n try:\n  a = numpy.load(p)\n"
                          "  print(a.dtype, '[' + ', '.join(map(str, a.shape)) + ']')\n except Exception:\n  print('reject')\" " +
                          paths + " > " + out + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::istringstream numpy_says(read_file(out));
  int accepted = 0;
  for (std::size_t i = 0; i < dicts.size(); ++i) {
    std::string theirs, ours = "reject";
    std::getline(numpy_says, theirs);
    try {
      const Tensor t = read_npy(d / ("h" + std::to_string(i) + ".npy"));
      ours = std::string(t.dtype() == DType::f32 ? "float32" : "float16") + " " + t.view().shape_string();
    } catch (const Error&) {
    }
    SCOPED_TRACE(dicts[i] + "  attend: " + ours + "  numpy: " + theirs);
    if (ours != "reject") {
      ++accepted;
      EXPECT_EQ(ours, theirs) << "attend read a header numpy reads differently";
    }  // attend may refuse more than numpy (duplicate keys, "(True, 6)"): stricter is safe
  }
  EXPECT_EQ(accepted, 4);  // the plain float headers: (2, 3), (2, 3,), double quotes, =f4
}

}  // namespace
}  // namespace attend
