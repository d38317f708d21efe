// JSON helpers for the API: parsing request bodies into validated values
// with errors that name the field, canonical fingerprints for idempotency,
// and the id rule of SPEC §1.
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reservoir::api {

inline constexpr size_t kIdLengthMax = 64;
inline constexpr int kNestingDepthMax = 32;  // JSON objects/arrays in a request body

// 1..64 chars of [A-Za-z0-9._:-]: user, concert, schedule and seat ids,
// idempotency keys.
bool valid_id(std::string_view s);

// "name[index]": the path of an array item, for messages.
std::string item_path(std::string_view name, size_t index);

// A field lookup over a parsed object that records the first problem, so a
// handler reads every field and checks ok() once. An object nested in the
// body is read with its `path` ("schedules[1].seats[2]"): messages name a
// field by its full path ("field 'schedules[1].seats[2].price' ...").
class Fields {
 public:
  explicit Fields(const rapidjson::Value& object, std::string path = "")
      : obj_(object), path_(std::move(path)) {}

  std::optional<std::string> id(const char* name, bool required = true);
  std::optional<std::string> text(const char* name, size_t length_max, bool required = true);
  std::optional<int64_t> integer(const char* name, int64_t min, int64_t max, bool required = true);
  const rapidjson::Value* array(const char* name, size_t size_min, size_t size_max);
  bool has(const char* name) const { return obj_.HasMember(name); }
  // The full path of member `name` of this object.
  std::string path_of(const char* name) const { return path_.empty() ? name : path_ + "." + name; }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

 private:
  const rapidjson::Value* get(const char* name, bool required);
  const rapidjson::Value& obj_;
  std::string path_;
  std::string error_;
};

// Parses `body` as a JSON object. On failure returns nullopt and sets *error.
bool parse_object(std::string_view body, rapidjson::Document& doc, std::string* error);

// The calling thread's arena for the Document of one request body, emptied
// by each call: a Document built on it takes no memory from malloc up to
// kParseArenaBytes (rapidjson's own allocator mallocs a 64 KiB chunk per
// Document, and frees it, on every request). What a previous Document of
// this thread held is gone: one request at a time per thread.
inline constexpr size_t kParseArenaBytes = 16u << 10;
rapidjson::MemoryPoolAllocator<>& thread_parse_arena();

// True when `body` fails to parse only because a number is out of double
// range, and that number is the value of top-level `key` (e.g. amount:1e400).
bool top_level_number_too_big(std::string_view body, const char* key);

// An amount: an integer value in [min, max]. Numbers like 1.5 or 1e400 are
// "not an integer in range" (INVALID_AMOUNT); a non-number is a type error.
enum class AmountCheck { kOk, kMissingOrNotNumber, kOutOfRange };
AmountCheck read_amount(const rapidjson::Value& object, const char* key, int64_t min, int64_t max,
                        int64_t* out);

// 64-bit fingerprint of method, path and the body as parsed JSON (object
// keys sorted, whitespace dropped): two requests that differ only in key
// order or spacing have the same fingerprint.
int64_t fingerprint(std::string_view method, std::string_view path, const rapidjson::Value* body);

}  // namespace reservoir::api
