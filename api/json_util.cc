#include "api/json_util.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

namespace reservoir::api {

bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > kIdLengthMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

std::string item_path(std::string_view name, size_t index) {
  return std::string(name) + "[" + std::to_string(index) + "]";
}

const rapidjson::Value* Fields::get(const char* name, bool required) {
  auto it = obj_.FindMember(name);
  if (it == obj_.MemberEnd() || it->value.IsNull()) {
    if (required) fail("field '" + path_of(name) + "' is required");
    return nullptr;
  }
  return &it->value;
}

std::optional<std::string> Fields::id(const char* name, bool required) {
  const rapidjson::Value* v = get(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->IsString() || !valid_id(std::string_view(v->GetString(), v->GetStringLength()))) {
    fail("field '" + path_of(name) + "' must be 1-64 characters of [A-Za-z0-9._:-]");
    return std::nullopt;
  }
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<std::string> Fields::text(const char* name, size_t length_max, bool required) {
  const rapidjson::Value* v = get(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->IsString() || v->GetStringLength() > length_max ||
      (required && v->GetStringLength() == 0)) {
    fail("field '" + path_of(name) + "' must be a string of at most " + std::to_string(length_max) +
         " characters");
    return std::nullopt;
  }
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> Fields::integer(const char* name, int64_t min, int64_t max, bool required) {
  const rapidjson::Value* v = get(name, required);
  if (v == nullptr) return std::nullopt;
  if (!v->IsInt64() || v->GetInt64() < min || v->GetInt64() > max) {
    fail("field '" + path_of(name) + "' must be an integer in " + std::to_string(min) + ".." +
         std::to_string(max));
    return std::nullopt;
  }
  return v->GetInt64();
}

const rapidjson::Value* Fields::array(const char* name, size_t size_min, size_t size_max) {
  const rapidjson::Value* v = get(name, true);
  if (v == nullptr) return nullptr;
  if (!v->IsArray() || v->Size() < size_min || v->Size() > size_max) {
    fail("field '" + path_of(name) + "' must be an array of " + std::to_string(size_min) + " to " +
         std::to_string(size_max) + " items");
    return nullptr;
  }
  return v;
}

namespace {

// The deepest nesting of objects/arrays in `body`, counted outside strings,
// so a hostile body cannot make later recursive walks overflow the stack.
int nesting_depth(std::string_view body) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

rapidjson::MemoryPoolAllocator<>& thread_parse_arena() {
  thread_local char buffer[kParseArenaBytes];
  thread_local rapidjson::MemoryPoolAllocator<> arena(buffer, sizeof buffer);
  arena.Clear();  // frees any chunk a larger body needed, keeps the buffer
  return arena;
}

bool parse_object(std::string_view body, rapidjson::Document& doc, std::string* error) {
  if (nesting_depth(body) > kNestingDepthMax) {
    *error = "the body nests deeper than " + std::to_string(kNestingDepthMax) + " levels";
    return false;
  }
  // No kParseFullPrecisionFlag: Debian's RapidJSON reads out of bounds in
  // its full-precision strtod on a long mantissa with a large negative
  // exponent (found by fuzz_canonical_body; the input is the seed
  // tests/fuzz/canonical_body/regression-strtod-oob). Money and counts are
  // integers, which parse exactly either way.
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;
  doc.Parse<kFlags>(body.data(), body.size());
  if (doc.HasParseError()) {
    *error = std::string("malformed JSON at byte ") + std::to_string(doc.GetErrorOffset()) + ": " +
             rapidjson::GetParseError_En(doc.GetParseError());
    return false;
  }
  if (!doc.IsObject()) {
    *error = "the body must be a JSON object";
    return false;
  }
  return true;
}

namespace {

// SAX handler that remembers whether the last thing it read was top-level
// `key` (with its value still to come).
struct LastKey : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, LastKey> {
  const char* key = nullptr;
  int depth = 0;
  bool at_key = false;
  bool Default() {
    at_key = false;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    at_key = depth == 1 && std::string_view(s, n) == key;
    return true;
  }
  bool StartObject() { return ++depth, Default(); }
  bool EndObject(rapidjson::SizeType) { return --depth, Default(); }
  bool StartArray() { return ++depth, Default(); }
  bool EndArray(rapidjson::SizeType) { return --depth, Default(); }
};

}  // namespace

bool top_level_number_too_big(std::string_view body, const char* key) {
  // The parser stops at the number it cannot hold; if that is where `key`'s
  // value starts, the too-big number is that value.
  LastKey handler;
  handler.key = key;
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(body.data(), body.size());
  reader.Parse<rapidjson::kParseIterativeFlag>(ms, handler);  // no recursion on hostile nesting
  return reader.GetParseErrorCode() == rapidjson::kParseErrorNumberTooBig && handler.at_key;
}

AmountCheck read_amount(const rapidjson::Value& object, const char* key, int64_t min, int64_t max,
                        int64_t* out) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsNumber()) return AmountCheck::kMissingOrNotNumber;
  const rapidjson::Value& v = it->value;
  if (v.IsInt64()) {
    *out = v.GetInt64();
  } else {
    const double d = v.GetDouble();  // 1.5, 1e3, or an integer beyond int64
    if (!std::isfinite(d) || d != std::floor(d) || d < -1e18 || d > 1e18) {
      return AmountCheck::kOutOfRange;
    }
    *out = static_cast<int64_t>(d);
  }
  return *out >= min && *out <= max ? AmountCheck::kOk : AmountCheck::kOutOfRange;
}

namespace {

void write_canonical(rapidjson::Writer<rapidjson::StringBuffer>& w, const rapidjson::Value& v) {
  if (v.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) members.push_back(&*it);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
             std::string_view(b->name.GetString(), b->name.GetStringLength());
    });
    w.StartObject();
    for (auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      write_canonical(w, m->value);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& e : v.GetArray()) write_canonical(w, e);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

uint64_t fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

int64_t fingerprint(std::string_view method, std::string_view path, const rapidjson::Value* body) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, method);
  h = fnv1a(h, "\n");
  h = fnv1a(h, path);
  h = fnv1a(h, "\n");
  if (body != nullptr) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    write_canonical(w, *body);
    h = fnv1a(h, std::string_view(buf.GetString(), buf.GetSize()));
  }
  return static_cast<int64_t>(h);
}

}  // namespace reservoir::api
