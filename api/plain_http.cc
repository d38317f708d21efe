#include "api/plain_http.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

namespace reservoir::api {

namespace {

// httplib answers a longer request line 414 and refuses a longer header
// line (CPPHTTPLIB_REQUEST_URI_MAX_LENGTH, CPPHTTPLIB_HEADER_MAX_LENGTH);
// both count the line's CRLF.
constexpr size_t kLineBytesMax = 8192;
constexpr size_t kContentLengthDigitsMax = 9;

constexpr std::array<std::string_view, 5> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_blank(char c) {
  return c == ' ' || c == '\t';
}
bool one_of(char c, std::string_view set) {
  return set.find(c) != std::string_view::npos;
}
// A header name's characters (RFC 9110's tchar without '%').
bool is_name_char(char c) {
  return is_alnum(c) || one_of(c, "!#$&'*+-.^_`|~");
}
// A path's characters that httplib's decode_url(path, false) keeps as they are.
bool is_path_char(char c) {
  return is_alnum(c) || one_of(c, "-._~!$&'()*+,;=:@/");
}
// A query's: the same without '+' (decoded to a space) and '?' (httplib
// drops what follows a second one).
bool is_query_char(char c) {
  return is_alnum(c) || one_of(c, "-._~!$&'()*,;=:@/");
}
// A header value's that httplib keeps as they are ('%' would be decoded).
bool is_value_char(char c) {
  return c == '\t' || (c >= 0x20 && c < 0x7f && c != '%');
}
template <class Pred>
bool all_of(std::string_view s, Pred pred) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// The request line: METHOD SP target SP HTTP/1.1, with nothing httplib
// would split, trim or decode differently.
bool parse_request_line(std::string_view line, PlainRequest& r) {
  if (line.size() + 2 > kLineBytesMax) return false;
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  r.method = line.substr(0, sp1);
  if (std::find(kMethods.begin(), kMethods.end(), r.method) == kMethods.end()) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.substr(sp2 + 1) != "HTTP/1.1") return false;
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (r.target.empty() || r.target.front() != '/') return false;
  const size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (!all_of(r.path, is_path_char)) return false;
  if (q == std::string_view::npos) return true;
  r.query = r.target.substr(q + 1);
  const auto pieces = std::count(r.query.begin(), r.query.end(), '&') + 1;
  return !r.query.empty() && all_of(r.query, is_query_char) &&
         static_cast<size_t>(pieces) <= PlainRequest::kQueryParamsMax;
}

// One header line (without its CRLF), as httplib's parse_header reads it:
// trailing blanks dropped, the name up to ':', leading blanks of the value
// skipped.
bool parse_header_line(std::string_view line, PlainRequest& r) {
  if (line.size() + 2 > kLineBytesMax || r.header_count == PlainRequest::kHeadersMax) return false;
  while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && is_blank(value.front())) value.remove_prefix(1);
  // httplib drops a header with an empty value (http_server.cc puts it back).
  if (value.empty() || !all_of(name, is_name_char) || !all_of(value, is_value_char)) return false;
  r.headers[r.header_count++] = {name, value};
  return true;
}

size_t count_headers(const PlainRequest& r, std::string_view lower) {
  size_t n = 0;
  for (size_t i = 0; i < r.header_count; ++i) n += header_name_is(r.headers[i].name, lower);
  return n;
}

// The body httplib would read: Content-Length bytes for the methods it reads
// a body for, none without the header (http_server.cc answers those before
// httplib reads one). False for what httplib reads otherwise.
bool take_body(std::string_view rest, size_t body_bytes_max, PlainRequest& r) {
  if (r.header("transfer-encoding") || r.header("expect") || r.header("range")) return false;
  const size_t lengths = count_headers(r, "content-length");
  if (lengths == 0) return true;
  if (lengths > 1 || r.method == "GET") return false;
  const std::string_view text = *r.header("content-length");
  if (text.size() > kContentLengthDigitsMax ||
      !all_of(text, [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  size_t length = 0;
  std::from_chars(text.data(), text.data() + text.size(), length);
  if (length > body_bytes_max || rest.size() < length) return false;
  r.body = rest.substr(0, length);
  r.bytes += length;
  return true;
}

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

void append_header(std::string& out, std::string_view name, uint64_t value) {
  out.append(name).append(": ");
  append_number(out, value);
  out.append("\r\n");
}

}  // namespace

std::optional<std::string_view> PlainRequest::header(std::string_view lower) const {
  for (size_t i = 0; i < header_count; ++i) {
    if (header_name_is(headers[i].name, lower)) return headers[i].value;
  }
  return std::nullopt;
}

std::optional<PlainRequest> parse_plain_request(std::string_view buffered, size_t body_bytes_max) {
  const size_t head_end = buffered.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  PlainRequest r;
  r.bytes = head_end + 4;
  std::string_view lines = buffered.substr(0, head_end + 2);  // each line with its CRLF
  bool first = true;
  while (!lines.empty()) {
    const size_t eol = lines.find("\r\n");
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    // A lone CR or LF (or a NUL: httplib reads the request line as a C string).
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      return std::nullopt;
    }
    const bool ok =
        std::exchange(first, false) ? parse_request_line(line, r) : parse_header_line(line, r);
    if (!ok) return std::nullopt;
  }
  if (!take_body(buffered.substr(r.bytes), body_bytes_max, r)) return std::nullopt;
  const std::optional<std::string_view> connection = r.header("connection");
  r.close = connection && *connection == "close";
  return r;
}

// httplib's parse_query_text: pieces between '&' (empty ones skipped, a
// piece seen before skipped); in each, the pieces between '=' (empty ones
// skipped): the first is the name, the last of the others the value.
void plain_query_params(std::string_view query, std::multimap<std::string, std::string>& out) {
  std::array<std::string_view, PlainRequest::kQueryParamsMax> seen;
  size_t seen_count = 0;
  auto pieces = [](std::string_view s, char sep, auto&& fn) {
    while (!s.empty()) {
      const size_t at = s.find(sep);
      const std::string_view piece = s.substr(0, at);
      if (!piece.empty()) fn(piece);
      s.remove_prefix(at == std::string_view::npos ? s.size() : at + 1);
    }
  };
  std::multimap<std::string, std::string>* params = &out;
  pieces(query, '&', [&](std::string_view kv) {
    if (std::find(seen.begin(), seen.begin() + seen_count, kv) != seen.begin() + seen_count) {
      return;
    }
    if (seen_count < seen.size()) seen[seen_count++] = kv;
    std::string_view key, value;
    pieces(kv, '=', [&](std::string_view piece) { (key.empty() ? key : value) = piece; });
    if (!key.empty()) params->emplace(std::string(key), std::string(value));
  });
}

const char* reason_phrase(int status) {
  static constexpr std::pair<int, const char*> kPhrases[] = {
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {204, "No Content"},
      {307, "Temporary Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {402, "Payment Required"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Payload Too Large"},
      {415, "Unsupported Media Type"},
      {421, "Misdirected Request"},
      {422, "Unprocessable Entity"},
      {423, "Locked"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  for (const auto& [code, phrase] : kPhrases) {
    if (code == status) return phrase;
  }
  return "Internal Server Error";
}

// The headers in httplib's order (its header map compares names without
// case), which for this fixed set is the order below.
void write_plain_head(const Answer& a, const PlainAnswerHead& head, std::string& out) {
  const std::string_view body = a.text();
  const bool file = a.content_type != nullptr;  // the console's files (send())
  const char* type = head.prometheus ? kPrometheusContentType
                     : file          ? a.content_type
                                     : "application/json";
  out.reserve(out.size() + 384);
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<uint64_t>(a.status));
  out.append(" ").append(reason_phrase(a.status)).append("\r\n");
  if (file) append_header(out, "Cache-Control", "no-cache");
  if (head.close) append_header(out, "Connection", "close");
  append_header(out, "Content-Length", body.size());
  if (file) append_header(out, "Content-Security-Policy", kConsoleContentSecurityPolicy);
  append_header(out, "Content-Type", type);
  if (!head.close) append_header(out, "Keep-Alive", head.keep_alive);
  if (!a.location.empty()) append_header(out, "Location", a.location);
  if (a.applied) append_header(out, "Reservoir-Applied", *a.applied);
  if (a.offset) append_header(out, "Reservoir-Offset", *a.offset);
  if (a.status == 503) append_header(out, "Retry-After", "1");
  if (file) append_header(out, "X-Content-Type-Options", "nosniff");
  append_header(out, "X-Request-Id", head.request_id);
  out.append("\r\n");
}

void write_plain_answer(const Answer& a, const PlainAnswerHead& head, std::string& out) {
  out.reserve(out.size() + a.text().size() + 384);
  write_plain_head(a, head, out);
  out.append(a.text());
}

}  // namespace reservoir::api
