// A minimal protobuf (proto2 wire format) reader for sentencepiece_model.proto:
//   ModelProto { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                NormalizerSpec normalizer_spec = 3; }
//   SentencePiece { string piece = 1; float score = 2; Type type = 3; }
//   TrainerSpec { ModelType model_type = 3; }
//   NormalizerSpec { string name = 1; bool add_dummy_prefix = 3; bool remove_extra_whitespaces = 4;
//                    bool escape_whitespaces = 5; }
#include "text/spm_proto.h"

#include <cstdint>
#include <cstring>

#include "text/check.h"

namespace attend::text::detail {
namespace {

class Wire {
 public:
  Wire(std::string_view b, const char* where, const std::string& name) : b_(b), where_(where), name_(name) {}
  bool done() const { return at_ >= b_.size(); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= b_.size()) fail("a varint runs past the end");
      const auto c = static_cast<unsigned char>(b_[at_++]);
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    fail("a varint is longer than 10 bytes");
  }
  std::string_view bytes() {
    const std::uint64_t n = varint();
    if (n > b_.size() - at_) fail("a field of ", n, " bytes runs past the end (", b_.size() - at_, " left)");
    const std::string_view s = b_.substr(at_, n);
    at_ += n;
    return s;
  }
  float fixed32_float() {
    if (b_.size() - at_ < 4) fail("a 32-bit field runs past the end");
    std::uint32_t u = 0;
    for (int i = 3; i >= 0; --i) u = (u << 8) | static_cast<unsigned char>(b_[at_ + static_cast<std::size_t>(i)]);
    at_ += 4;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1:
        if (b_.size() - at_ < 8) fail("a 64-bit field runs past the end");
        at_ += 8;
        return;
      case 2: bytes(); return;
      case 5: fixed32_float(); return;
      default: fail("wire type ", wire_type, " is not valid here");
    }
  }
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    detail::fail(where_, name_, ": not a SentencePiece model: ", parts...);
  }

 private:
  std::string_view b_;
  std::size_t at_ = 0;
  const char* where_;
  const std::string& name_;
};

}  // namespace

SpmProto parse_spm_proto(std::string_view bytes, const char* where, const std::string& name) {
  SpmProto out;
  Wire w(bytes, where, name);
  while (!w.done()) {
    const std::uint64_t tag = w.varint();
    const auto field = tag >> 3;
    const int type = static_cast<int>(tag & 7);
    if (field == 0) w.fail("field number 0");
    if (field == 1 && type == 2) {
      Wire p(w.bytes(), where, name);
      SpmProto::Piece piece;
      while (!p.done()) {
        const std::uint64_t t = p.varint();
        if ((t >> 3) == 1 && (t & 7) == 2) piece.piece = std::string(p.bytes());
        else if ((t >> 3) == 2 && (t & 7) == 5) piece.score = p.fixed32_float();
        else if ((t >> 3) == 3 && (t & 7) == 0) piece.type = static_cast<int>(p.varint() & 0xFF);
        else p.skip(static_cast<int>(t & 7));
      }
      if (piece.type < 1 || piece.type > 6) w.fail("piece ", out.pieces.size(), " has type ", piece.type);
      out.pieces.push_back(std::move(piece));
    } else if ((field == 2 || field == 3) && type == 2) {
      Wire s(w.bytes(), where, name);
      while (!s.done()) {
        const std::uint64_t t = s.varint();
        const auto f = t >> 3;
        if (field == 2 && f == 3 && (t & 7) == 0) out.model_type = static_cast<int>(s.varint() & 0xFF);
        else if (field == 3 && f == 1 && (t & 7) == 2) out.normalizer = std::string(s.bytes());
        else if (field == 3 && f == 3 && (t & 7) == 0) out.add_dummy_prefix = s.varint() != 0;
        else if (field == 3 && f == 4 && (t & 7) == 0) out.remove_extra_whitespaces = s.varint() != 0;
        else if (field == 3 && f == 5 && (t & 7) == 0) out.escape_whitespaces = s.varint() != 0;
        else s.skip(static_cast<int>(t & 7));
      }
    } else {
      w.skip(type);
    }
  }
  if (out.pieces.empty()) w.fail("no pieces");
  return out;
}

}  // namespace attend::text::detail
