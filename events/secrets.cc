#include "events/secrets.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace reservoir::secrets {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The 16 bytes a UUID string spells (hex digits, dashes skipped); false for
// anything else.
bool uuid_bytes(std::string_view uuid, unsigned char (&out)[16]) {
  size_t n = 0;
  for (size_t i = 0; i < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    const int hi = hex_value(uuid[i]);
    const int lo = i + 1 < uuid.size() ? hex_value(uuid[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n == 16) return false;
    out[n++] = static_cast<unsigned char>(hi << 4 | lo);
    ++i;
  }
  return n == 16;
}

std::string uuid_text(const unsigned char (&b)[16]) {
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 15]);
  }
  return s;
}

// The 16 bytes of pad that seal the token named by `hash`.
void pad_of(const TokenKey& key, std::string_view hash, unsigned char (&pad)[16]) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()),
       reinterpret_cast<const unsigned char*>(hash.data()), hash.size(), mac, &len);
  std::memcpy(pad, mac, sizeof pad);
}

}  // namespace

Digest sha256(std::string_view bytes) {
  Digest d;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), d.data());
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
  std::string s(2 * raw.size(), '0');
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto b = static_cast<unsigned char>(raw[i]);
    s[2 * i] = kHex[b >> 4];
    s[2 * i + 1] = kHex[b & 15];
  }
  return s;
}

std::string digest_of(std::string_view hex) {
  char raw[kDigestBytes];
  if (!digest_into(hex, raw)) return {};
  return std::string(raw, sizeof raw);
}

bool digest_into(std::string_view hex, char (&out)[kDigestBytes]) {
  if (hex.size() != kHashChars) return false;
  for (size_t i = 0; i < kDigestBytes; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

void token_digest_into(std::string_view token, char (&out)[kDigestBytes]) {
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         reinterpret_cast<unsigned char*>(out));
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

std::string seal_token(const TokenKey& key, std::string_view token, std::string_view hash) {
  unsigned char b[16], pad[16];
  size_t n = sizeof b;
  if (!uuid_bytes(token, b)) {
    if (token.empty() || token.size() > sizeof b) return {};
    n = token.size();
    std::memcpy(b, token.data(), n);
  }
  pad_of(key, hash, pad);
  for (size_t i = 0; i < n; ++i) b[i] ^= pad[i];
  return hex_of(std::string_view(reinterpret_cast<const char*>(b), n));
}

std::optional<std::string> open_token(const TokenKey& key, std::string_view seal,
                                      std::string_view hash) {
  if (seal.empty() || seal.size() > kSealChars || seal.size() % 2 != 0) return std::nullopt;
  unsigned char b[16], pad[16];
  const size_t n = seal.size() / 2;
  for (size_t i = 0; i < n; ++i) {
    const int hi = hex_value(seal[2 * i]);
    const int lo = hex_value(seal[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  pad_of(key, hash, pad);
  for (size_t i = 0; i < n; ++i) b[i] ^= pad[i];
  // The hash tells which reading is right (and that the key is).
  if (n == sizeof b) {
    std::string token = uuid_text(b);
    if (token_hash(token) == hash) return token;
  }
  std::string text(reinterpret_cast<const char*>(b), n);
  if (token_hash(text) == hash) return text;
  return std::nullopt;
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
