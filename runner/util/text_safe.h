#pragma once
// Untrusted text (guest output, make and apt logs, report files read back)
// made safe for where it is shown: a terminal, an XML or HTML document, a
// Markdown page. The one place that decides what happens to control bytes,
// escape sequences and invalid UTF-8, so every output says the same thing.
//
// The rule for all of them: nothing is dropped. A byte that cannot be shown
// as it is gets a visible stand-in (one per byte or character), so a
// scenario's output cut in the middle of an escape sequence loses no text.

#include <cstddef>
#include <string>
#include <string_view>

namespace archmatrix::util {

/// Text safe in any Unicode document, still unescaped for its format: valid
/// UTF-8 (each invalid byte becomes U+FFFD); tab, newline and carriage
/// return kept; every other C0 control and DEL shown as its Control Picture
/// (ESC as U+241B "␛", NUL as U+2400 "␀", DEL as U+2421), so a terminal
/// escape sequence reads as "␛[31m" and the text after it stays; C1 controls,
/// U+FFFE and U+FFFF (not XML characters) become U+FFFD. Every character
/// XML 1.0 allows, and nothing else.
std::string document_text(std::string_view s);

/// document_text, then & < > as character references; an attribute value
/// (attribute = true) also escapes " and tab, newline and CR, which a parser
/// would otherwise normalise to spaces. Never CDATA.
std::string xml_escape(std::string_view s, bool attribute);

/// document_text, then & < > " ' as character references: safe as element
/// text and as a double- or single-quoted attribute value.
std::string html_escape(std::string_view s);

/// Text safe inside a Markdown table cell or list item: document_text, then
/// every Markdown-active character (\ ` * _ [ ] < > | ~ # & !) backslash-escaped
/// and every line break (LF, CRLF, CR) made "<br>"; cut to `max` characters
/// (whole UTF-8 characters) with "…" when longer (0: never cut).
std::string markdown_escape(std::string_view s, std::size_t max = 0);

/// Text safe on a terminal, whatever its encoding: printable ASCII as it
/// is; a newline as `newline`; tab as a space; every other control byte in
/// caret notation as `cat -v` shows it (ESC "^[", CR "^M", DEL "^?"), so an
/// escape sequence cannot rewrite the user's screen and still shows; each
/// other character (valid UTF-8 or an invalid byte) '?'. Cut after `max`
/// characters of s with "...".
std::string terminal_text(std::string_view s, std::size_t max = 200, std::string_view newline = " ");

/// The last `n` bytes of s, with "..." before them when s was longer: a
/// command's output quoted in an error message.
std::string tail(const std::string& s, std::size_t n = 1500);

}  // namespace archmatrix::util
