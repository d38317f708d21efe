// Codec: one field list per record type gives its binary encoding, its
// decoding and (json_codec.h) its JSON rendering, so the three never drift.
//
// A record type T declares its fields once:
//   template <class S, class F> static void fields(S& self, F&& f) {
//     f("userId", self.user_id); f("amount", self.amount); }
// Field types: std::string, int64_t, uint32_t, bool, nested records, and
// std::vector of any of these. Binary form: zigzag varints, length-prefixed
// strings, count-prefixed vectors, fields in declaration order.
//
// Schema evolution: a field added in schema version N is declared
//   f("reservationOpensAt", self.opens_at, N);
// It is always encoded; decoding a payload of an older version skips it
// (leaving the default), in nested records too. So every visitor takes an
// optional third argument, the version that introduced the field.
//
// A field dropped after schema version M (a secret the log no longer holds)
// is declared
//   f("token", self.legacy_token, 1, M);
// It is never encoded, decoded only from payloads of versions since..M, and
// left out of renderings: the record's upgrade() derives what replaced it.
// So every visitor takes an optional fourth argument, the last version that
// had the field (kLive: it is still written).
//
// Thread safety: stateless functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace reservoir::codec {

// A field's last version while it is still written.
inline constexpr uint32_t kLive = UINT32_MAX;

struct FieldProbe {
  template <class V>
  void operator()(const char*, V&, uint32_t = 1, uint32_t = kLive) {}
};

// Decodes as the current version: every field is present.
inline constexpr uint32_t kCurrentVersion = UINT32_MAX;
template <class T>
concept Record = requires(T& t) {
  T::fields(t, FieldProbe{});
};

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

inline void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
inline uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t unzigzag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// Reader over a byte range; the first malformed read sets !ok() and every
// later read returns zero values, so callers check once at the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool ok() const { return ok_; }
  bool at_end() const { return p_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (p_ == end_) return fail();
      const auto byte = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) return v;
    }
    return fail();
  }
  std::string_view bytes(size_t n) {
    if (!ok_ || remaining() < n) {
      fail();
      return {};
    }
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  std::string_view string() { return bytes(varint()); }

 private:
  uint64_t fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

template <class T>
void put_value(std::string& out, const T& v);
template <class T>
void get_value(Reader& in, T& v, uint32_t version = kCurrentVersion);

struct Encoder {
  std::string& out;
  template <class V>
  void operator()(const char*, const V& v, uint32_t = 1, uint32_t until = kLive) {
    if (until == kLive) put_value(out, v);
  }
};
struct Decoder {
  Reader& in;
  uint32_t version;  // of the payload: fields introduced later are absent
  template <class V>
  void operator()(const char*, V& v, uint32_t since = 1, uint32_t until = kLive) {
    if (since <= version && version <= until) get_value(in, v, version);
  }
};

template <class T>
void put_value(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    put_varint(out, v.size());
    out.append(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out.push_back(v ? 1 : 0);
  } else if constexpr (std::is_integral_v<T>) {
    put_varint(out, zigzag(static_cast<int64_t>(v)));
  } else if constexpr (IsVector<T>::value) {
    put_varint(out, v.size());
    for (const auto& e : v) put_value(out, e);
  } else {
    static_assert(Record<T>, "codec: unsupported field type");
    T::fields(v, Encoder{out});
  }
}

template <class T>
void get_value(Reader& in, T& v, uint32_t version) {
  if constexpr (std::is_same_v<T, std::string>) {
    v.assign(in.string());  // reuses v's buffer
  } else if constexpr (std::is_same_v<T, bool>) {
    v = in.bytes(1) == std::string_view("\x01", 1);
  } else if constexpr (std::is_integral_v<T>) {
    v = static_cast<T>(unzigzag(in.varint()));
  } else if constexpr (IsVector<T>::value) {
    const uint64_t n = in.varint();
    // A count cannot exceed the bytes left (every element takes >= 1 byte):
    // a corrupted count must not allocate gigabytes.
    if (n > in.remaining()) {
      in.bytes(in.remaining() + 1);
      return;
    }
    v.resize(n);
    for (auto& e : v) get_value(in, e, version);
  } else {
    static_assert(Record<T>, "codec: unsupported field type");
    T::fields(v, Decoder{in, version});
  }
}

template <Record T>
void encode(const T& v, std::string& out) {
  put_value(out, v);
}

// Decodes exactly `in` (written as schema `version`) into v; false on
// malformed or trailing bytes.
template <Record T>
bool decode(std::string_view in, T& v, uint32_t version = kCurrentVersion) {
  Reader r(in);
  get_value(r, v, version);
  return r.ok() && r.at_end();
}

}  // namespace reservoir::codec
