// One-line error text (deepsc/data/message_text.h): what a hostile path or file can put in an
// error message stays on one printable line, readable text is kept, and the length is capped.

#include <gtest/gtest.h>

#include <string>

#include "deepsc/data/message_text.h"

using deepsc::data::first_line;
using deepsc::data::one_line;

TEST(MessageText, ControlBytesAreEscapedAndTextIsKept) {
  EXPECT_EQ(one_line("plain text: 42"), "plain text: 42");
  EXPECT_EQ(one_line("a\nb\r\tc"), "a\\x0ab\\x0d\\x09c");
  EXPECT_EQ(one_line(std::string("nul\0here", 8)), "nul\\x00here");
  EXPECT_EQ(one_line("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");  // no terminal escapes
  // Well-formed UTF-8 is readable text (λ, ‖·‖, a path in another script).
  EXPECT_EQ(one_line("λ = 0.1, ‖x‖₁, données/D.npy"), "λ = 0.1, ‖x‖₁, données/D.npy");
}

TEST(MessageText, MalformedUtf8AndC1ControlsAreEscaped) {
  EXPECT_EQ(one_line("\x93NUMPY"), "\\x93NUMPY");                // a lone continuation byte
  EXPECT_EQ(one_line("\xc3"), "\\xc3");                          // truncated sequence
  EXPECT_EQ(one_line("\xc0\xaf"), "\\xc0\\xaf");                 // overlong '/'
  EXPECT_EQ(one_line("\xed\xa0\x80"), "\\xed\\xa0\\x80");        // a UTF-16 surrogate
  EXPECT_EQ(one_line("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(one_line("\xc2\x9b"), "\\xc2\\x9b");                 // U+009B, the C1 escape (CSI)
  EXPECT_EQ(one_line("\xc2\xa0"), "\xc2\xa0");                   // U+00A0 is printable
}

TEST(MessageText, LengthIsCappedWithoutCuttingAnEscapeOrACharacter) {
  EXPECT_EQ(one_line(std::string(10, 'a'), 10), std::string(10, 'a'));
  EXPECT_EQ(one_line(std::string(11, 'a'), 10), std::string(10, 'a') + "...");
  // "ab" then an escape of 4 bytes: a cap of 4 keeps "ab" and no half escape.
  EXPECT_EQ(one_line("ab\ncd", 4), "ab...");
  // λ is two bytes: a cap of 2 after "a" does not split it.
  EXPECT_EQ(one_line("aλ", 2), "a...");
  EXPECT_EQ(one_line(std::string(5000, 'x')).size(), deepsc::data::kOneLineMaxBytes + 3);
}

TEST(MessageText, FirstLineDropsABacktrace) {
  const std::string c10_style =
      "Expected all tensors to be on the same device\nException raised from foo at bar.cpp:12\nframe #0 ...";
  EXPECT_EQ(first_line(c10_style), "Expected all tensors to be on the same device");
  EXPECT_EQ(first_line("windows line\r\nsecond"), "windows line");
  EXPECT_EQ(first_line("no newline"), "no newline");
  EXPECT_EQ(first_line("\nonly after"), "");
  EXPECT_EQ(first_line("tab\there\x1b"), "tab\\x09here\\x1b");
  EXPECT_EQ(first_line(std::string(3000, 'y')).size(), deepsc::data::kFirstLineMaxBytes + 3);
}
