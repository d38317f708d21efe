#include "events/secrets.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// kept, and they are what EVP's SHA-256 runs underneath (sha256_of below
// says why they are called directly).
#define OPENSSL_SUPPRESS_DEPRECATED

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace reservoir::secrets {
namespace {

// Hex digits eight at a time in a uint64 (SWAR), little-endian loads: the
// writer encodes or parses a tokenHash or a token for nearly every token
// command, and a digit at a time (a table lookup per digit, which the
// compiler cannot vectorise) cost 26-45 ns a hash against 8-10 ns.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHigh = 0x8080808080808080ULL;

uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint64_t load4(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// 8 lower-case hex digits (one load) to their 4 bytes, in text order, in
// the low half of the result; `ok` is cleared if any byte is not such a
// digit. Every byte below 0x80 (checked) keeps each lane's sums below
// 0x100, so no lane carries into the next.
uint64_t hex8(uint64_t x, bool& ok) {
  const uint64_t digit = (x + 0x50 * kOnes) & ~(x + 0x46 * kOnes);   // '0' <= c <= '9'
  const uint64_t letter = (x + 0x1f * kOnes) & ~(x + 0x19 * kOnes);  // 'a' <= c <= 'f'
  ok &= ((digit | letter) & kHigh) == kHigh && (x & kHigh) == 0;
  const uint64_t v = (x & 0x0f * kOnes) + ((letter & kHigh) >> 7) * 9;  // each lane's value
  uint64_t t = ((v & 0x000f000f000f000fULL) << 4) | ((v >> 8) & 0x000f000f000f000fULL);
  t = (t | (t >> 8)) & 0x0000ffff0000ffffULL;
  return (t | (t >> 16)) & 0xffffffffULL;
}

// 16 digits (two loads) to 8 bytes, stored at once: a later 8-byte load of
// them then forwards from the store instead of waiting for two 4-byte ones
// to reach the cache (a stall that cost more than the decoding).
void hex16(uint64_t first, uint64_t second, char* out, bool& ok) {
  const uint64_t bytes = hex8(first, ok) | hex8(second, ok) << 32;
  std::memcpy(out, &bytes, sizeof bytes);
}

// The inverse: 4 bytes (one load) to their 8 lower-case hex digits.
void hex4(uint64_t x, char* out) {
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;  // b0 0 b1 0 b2 0 b3 0
  const uint64_t v = ((x >> 4) & 0x000f000f000f000fULL) | ((x & 0x000f000f000f000fULL) << 8);
  const uint64_t letter = ((v + 0x76 * kOnes) >> 7) & kOnes;  // value >= 10
  const uint64_t text = v + 0x30 * kOnes + letter * ('a' - '0' - 10);
  std::memcpy(out, &text, sizeof text);
}

// `n` bytes (a multiple of 8) from 2n lower-case hex digits; false if `hex`
// is anything else.
bool unhex(std::string_view hex, char* out, size_t n) {
  if (hex.size() != 2 * n || n % 8 != 0) return false;
  bool ok = true;
  const char* p = hex.data();
  for (size_t i = 0; i < n; i += 8) hex16(load8(p + 2 * i), load8(p + 2 * i + 8), out + i, ok);
  return ok;
}

// SHA-256 by libcrypto's low-level calls on a context on the stack: OpenSSL
// 3's one-shot SHA256() looks the algorithm up on every call (595 ns for a
// token here) and a reused EVP context still costs 110 ns, against 68 ns
// this way.
void sha256_of(std::string_view bytes, unsigned char* out) {
  SHA256_CTX c;
  const bool ok = SHA256_Init(&c) == 1 && SHA256_Update(&c, bytes.data(), bytes.size()) == 1 &&
                  SHA256_Final(out, &c) == 1;
  if (!ok) std::abort();  // libcrypto without SHA-256: nothing here can work
}

// AES-256 contexts keyed with one TokenKey, this thread's own: keying one
// costs more than sealing (the key schedule), so each thread keeps the last
// key's, and an EVP context must not be shared between threads.
class Ciphers {
 public:
  static constexpr size_t kBlock = 16;

  Ciphers() = default;
  Ciphers(const Ciphers&) = delete;
  Ciphers& operator=(const Ciphers&) = delete;
  ~Ciphers() {
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    OPENSSL_cleanse(key_.data(), key_.size());
  }

  // This thread's contexts, keyed with `key`.
  static Ciphers& keyed(const TokenKey& key) {
    thread_local Ciphers c;
    if (!c.keyed_ || c.key_ != key.bytes) c.rekey(key);
    return c;
  }
  void encrypt(const char* in, char* out) { run(enc_, in, out); }
  void decrypt(const char* in, char* out) { run(dec_, in, out); }

 private:
  void rekey(const TokenKey& key) {
    // ECB on one block at a time is AES itself: no mode, no padding.
    static EVP_CIPHER* const aes = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
    const unsigned char* k = key.bytes.data();
    const bool ok = aes != nullptr && enc_ != nullptr && dec_ != nullptr &&
                    EVP_EncryptInit_ex2(enc_, aes, k, nullptr, nullptr) == 1 &&
                    EVP_DecryptInit_ex2(dec_, aes, k, nullptr, nullptr) == 1 &&
                    EVP_CIPHER_CTX_set_padding(enc_, 0) == 1 &&
                    EVP_CIPHER_CTX_set_padding(dec_, 0) == 1;
    if (!ok) std::abort();  // libcrypto without AES: nothing here can work
    key_ = key.bytes;
    keyed_ = true;
  }
  static void run(EVP_CIPHER_CTX* ctx, const char* in, char* out) {
    static_assert(kBlock == kTokenBytes);
    int n = 0;
    const bool ok = EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out), &n,
                                     reinterpret_cast<const unsigned char*>(in), kBlock) == 1;
    if (!ok || n != kBlock) std::abort();
  }

  EVP_CIPHER_CTX* enc_ = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec_ = EVP_CIPHER_CTX_new();
  std::array<unsigned char, 32> key_{};
  bool keyed_ = false;
};

// The block a token is sealed as: its 16 UUID bytes, or a short text
// token's bytes padded with zeros; false when it is neither.
bool seal_block(std::string_view token, char (&b)[kTokenBytes]) {
  if (token_bytes(token, b)) return true;
  if (token.empty() || token.size() > sizeof b) return false;
  std::memset(b, 0, sizeof b);
  std::memcpy(b, token.data(), token.size());
  return true;
}

bool hashes_to(std::string_view token, std::string_view digest) {
  unsigned char d[kDigestBytes];
  sha256_of(token, d);
  return digest.size() == kDigestBytes && std::memcmp(d, digest.data(), kDigestBytes) == 0;
}

}  // namespace

Digest sha256(std::string_view bytes) {
  Digest d;
  sha256_of(bytes, d.data());
  return d;
}

std::string token_digest(std::string_view token) {
  const Digest d = sha256(token);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

std::string token_hash(std::string_view token) {
  return hex_of(token_digest(token));
}

std::string hex_of(std::string_view raw) {
  std::string s;
  hex_into(raw, s);
  return s;
}

void hex_into(std::string_view raw, std::string& out) {
  out.resize(2 * raw.size());  // no allocation when it has the length already
  char* p = out.data();
  size_t i = 0;
  for (; i + 4 <= raw.size(); i += 4) hex4(load4(raw.data() + i), p + 2 * i);
  for (; i < raw.size(); ++i) {
    char pair[8];
    hex4(static_cast<unsigned char>(raw[i]), pair);
    std::memcpy(p + 2 * i, pair, 2);
  }
}

void token_hash_into(std::string_view token, char (&digest)[kDigestBytes], std::string& out) {
  token_digest_into(token, digest);
  hex_into(std::string_view(digest, kDigestBytes), out);
}

// The text is 8-4-4-4-12 digits: four loads of eight digits each.
bool token_bytes(std::string_view token, char (&out)[kTokenBytes]) {
  constexpr size_t kChars = 36;
  if (token.size() != kChars) return false;
  const char* p = token.data();
  bool ok = p[8] == '-' && p[13] == '-' && p[18] == '-' && p[23] == '-';
  hex16(load8(p), load4(p + 9) | load4(p + 14) << 32, out, ok);
  hex16(load4(p + 19) | load4(p + 24) << 32, load8(p + 28), out + 8, ok);
  return ok;
}

void token_text_into(const char (&bytes)[kTokenBytes], std::string& out) {
  char hex[2 * kTokenBytes];
  for (size_t i = 0; i < kTokenBytes; i += 4) hex4(load4(bytes + i), hex + 2 * i);
  out.resize(36);  // in place: no allocation once it has the length
  char* text = out.data();
  std::memcpy(text, hex, 8);
  text[8] = '-';
  std::memcpy(text + 9, hex + 8, 4);
  text[13] = '-';
  std::memcpy(text + 14, hex + 12, 4);
  text[18] = '-';
  std::memcpy(text + 19, hex + 16, 4);
  text[23] = '-';
  std::memcpy(text + 24, hex + 20, 12);
}

std::string digest_of(std::string_view hex) {
  char raw[kDigestBytes];
  if (!digest_into(hex, raw)) return {};
  return std::string(raw, sizeof raw);
}

bool digest_into(std::string_view hex, char (&out)[kDigestBytes]) {
  return unhex(hex, out, kDigestBytes);
}

void token_digest_into(std::string_view token, char (&out)[kDigestBytes]) {
  sha256_of(token, reinterpret_cast<unsigned char*>(out));
}

TokenKey TokenKey::for_tests() {
  TokenKey k;
  k.bytes = sha256("reservoir test token key: never a server's");
  return k;
}

const TokenKey& test_key() {
  static const TokenKey key = TokenKey::for_tests();
  return key;
}

std::string seal_token(const TokenKey& key, std::string_view token) {
  std::string s;
  seal_into(key, token, s);
  return s;
}

void seal_into(const TokenKey& key, std::string_view token, std::string& out) {
  char b[kTokenBytes], sealed[kTokenBytes];
  if (!seal_block(token, b)) {
    out.clear();
    return;
  }
  Ciphers::keyed(key).encrypt(b, sealed);
  hex_into(std::string_view(sealed, sizeof sealed), out);
}

std::optional<std::string> open_token(const TokenKey& key, std::string_view seal,
                                      std::string_view hash) {
  char digest[kDigestBytes];
  std::string token;
  if (!digest_into(hash, digest)) return std::nullopt;
  if (!open_into(key, seal, std::string_view(digest, sizeof digest), token)) return std::nullopt;
  return token;
}

bool open_into(const TokenKey& key, std::string_view seal, std::string_view digest,
               std::string& token) {
  char b[kTokenBytes], sealed[kTokenBytes];
  if (!unhex(seal, sealed, sizeof sealed)) return false;
  Ciphers::keyed(key).decrypt(sealed, b);
  // The hash tells which reading is right (and that the key is): a UUID's
  // bytes, else a short text token's, zero padding cut.
  token_text_into(b, token);
  if (hashes_to(token, digest)) return true;
  size_t n = sizeof b;
  while (n > 0 && b[n - 1] == 0) --n;
  token.assign(b, n);
  return n > 0 && hashes_to(token, digest);
}

Result<TokenKey> load_or_create_key(const std::string& path) {
  TokenKey key;
  std::ifstream in(path, std::ios::binary);
  if (in) {
    in.read(reinterpret_cast<char*>(key.bytes.data()), key.bytes.size());
    if (in.gcount() != static_cast<std::streamsize>(key.bytes.size()) || in.get() != EOF) {
      return Status::Corruption(path + ": a token key is exactly 32 bytes");
    }
    return key;
  }
  if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1) {
    return Status::IOError("no randomness for a new token key");
  }
  // Written beside, then renamed: a crash never leaves a short key behind.
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool ok =
      ::write(fd, key.bytes.data(), key.bytes.size()) == static_cast<ssize_t>(key.bytes.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  }
  return key;
}

bool equal_secrets(std::string_view a, std::string_view b) {
  // Digests have one length whatever the secrets' lengths, and
  // CRYPTO_memcmp reads every byte: the time says nothing of either.
  const Digest da = sha256(a), db = sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0 && !b.empty();
}

}  // namespace reservoir::secrets
