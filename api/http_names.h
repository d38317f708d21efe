// header_name_is: HTTP header names compared as HTTP does (ASCII letters
// without case), without the C library's locale-aware tolower(), which
// httplib's header map calls per character (3.4% of the server's CPU on
// queries once). Used wherever the HTTP layer looks for a header by name.
//
// Thread safety: a pure function.
#pragma once

#include <cstddef>
#include <string_view>

namespace reservoir::api {

// `lower` in lower case.
inline bool header_name_is(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace reservoir::api
