#pragma once
// The parts of a SentencePiece model file (ModelProto, protobuf) the tokenizer reads itself:
// pieces with score and type, the model type and the normalizer's prefix / whitespace settings.
#include <string>
#include <string_view>
#include <vector>

namespace attend::text::detail {

struct SpmProto {
  struct Piece {
    std::string piece;
    float score = 0.0f;
    int type = 1;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  };
  std::vector<Piece> pieces;
  int model_type = 1;  // 1 unigram, 2 bpe, 3 word, 4 char
  std::string normalizer;
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Throws attend::Error("<where>: <name>: ...") on malformed bytes.
SpmProto parse_spm_proto(std::string_view bytes, const char* where, const std::string& name);

}  // namespace attend::text::detail
