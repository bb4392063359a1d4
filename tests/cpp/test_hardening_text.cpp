// Finding 9: names and messages reach terminals and XML/DOT/JSON intact and harmless, whatever
// bytes they hold (NUL, escape sequences, invalid UTF-8, U+FFFE, bidi overrides).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "attend/attend.h"
#include "core/check.h"
#include "core/printable.h"

namespace attend {
namespace {

using namespace std::string_literals;

TEST(Printable, EscapesControlsAndInvalidUtf8AndKeepsTheRest) {
  EXPECT_EQ(printable("plain ascii, é, 日本, 🙂"), "plain ascii, é, 日本, 🙂");
  EXPECT_EQ(printable("a\0b"s), "a\\x00b");
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1B[31mred\\x1B[0m");
  EXPECT_EQ(printable("tab\tnl\ncr\r\x7f"), "tab\\tnl\\ncr\\r\\x7F");
  EXPECT_EQ(printable("\xC3"), "\\xC3");                 // a lone lead byte (one byte of 'é')
  EXPECT_EQ(printable("\xC3\xA9\xA9"), "é\\xA9");        // a stray continuation byte
  EXPECT_EQ(printable("\xC0\xAF"), "\\xC0\\xAF");        // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xC2\x9B" "2J"), "\\u{009B}2J");  // C1 CSI
  EXPECT_EQ(printable("\xE2\x80\xAE" "txt"), "\\u{202E}txt");  // right-to-left override
  EXPECT_EQ(printable("\xEF\xBF\xBE"), "\\u{FFFE}");
  for (int b = 0; b < 256; ++b) {  // the output is always valid, control-free and a fixed point
    const std::string s = printable(std::string(1, static_cast<char>(b)) + "x\xF0\x9F");
    EXPECT_EQ(printable(s), s) << b;
    for (unsigned char c : s) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << b;
  }
}

TEST(Printable, ErrorMessagesKeepEverythingAfterANul) {
  try {
    detail::fail("where", "tensor '", "a\0b\x1b]0;title\x07"s, "' is bad");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "where: tensor 'a\\x00b\\x1B]0;title\\x07' is bad");
  }
}

// Every token byte a byte-level model can produce, plus multi-byte and hostile strings.
std::vector<std::string> hostile_tokens() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.emplace_back(1, static_cast<char>(b));
  for (const char* s : {"é", "\xC3\xA9\xA9", "\xEF\xBF\xBE", "\xEF\xBF\xBF", "\xED\xA0\x80", "]]>", "</data>", "\"quoted\"",
                        "\\back\\slash", "\xE2\x80\xAE" "rtl", "\x1b[2J", "&amp;", "<script>"})
    t.emplace_back(s);
  t.emplace_back("nul\0inside"s);
  return t;
}

TEST(RoutingGraphExports, AreValidXmlDotAndJsonForAnyTokenBytes) {
  const std::vector<std::string> tokens = hostile_tokens();
  const auto n = static_cast<std::int64_t>(tokens.size());
  std::vector<float> a(static_cast<std::size_t>(n * n), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) a[static_cast<std::size_t>(i * n + (i * 7) % (i + 1))] = 1.0f;
  const observe::RoutingGraph g = observe::routing_graph(a, n, tokens, 2, 0.05, 0, "name \x01\xff <&>");
  const std::string graphml = observe::to_graphml(g), dot = observe::to_dot(g), json = observe::to_json(g);
  // DOT and GraphML: valid UTF-8 without control characters other than the line breaks we emit.
  for (const std::string* s : {&graphml, &dot}) {
    std::string lines = *s;
    for (char& c : lines)
      if (c == '\n') c = ' ';
    EXPECT_EQ(printable(lines), lines);
  }
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(json));
  EXPECT_EQ(parsed["nodes"].size(), tokens.size());
  // An independent parser: Python's xml.etree and json (Debian's python3).
  if (std::system("/usr/bin/python3 -c 'import xml.etree.ElementTree' 2>/dev/null") != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string dir = (std::filesystem::temp_directory_path() / ("attend_exports_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/g.graphml", std::ios::binary) << graphml;
  std::ofstream(dir + "/g.json", std::ios::binary) << json;
  const std::string cmd = "/usr/bin/python3 -c \"import sys, json, xml.etree.ElementTree as ET\n"
                          "r = ET.parse(sys.argv[1]).getroot()\n"
                          "ns = {'g': 'http://graphml.graphdrawing.org/xmlns'}\n"
                          "labels = [d.text or '' for d in r.iterfind('.//g:node/g:data', ns)]\n"
                          "assert len(labels) == " + std::to_string(n) + ", len(labels)\n"
                          "assert labels[ord('<')] == '<' and labels[0x41] == 'A' and labels[0] == '\\\\\\\\x00', labels[:2]\n"
                          "j = json.load(open(sys.argv[2], encoding='utf-8'))\n"
                          "assert len(j['nodes']) == " + std::to_string(n) + "\n\" " +
                          dir + "/g.graphml " + dir + "/g.json";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "Python could not parse the exports";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace attend
