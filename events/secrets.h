// Secrets: the hashing and sealing of queue tokens, and comparing keys.
//
// - token_hash(token): the hex SHA-256 of a token string, 64 lower-case
//   digits. The log, snapshots and projections name a token only by it
//   (docs/SECURITY.md): a reader of them learns no token it could present.
// - token_digest(token): the same hash as 32 raw bytes (the engine's and the
//   projections' lookup key; hex_of/digest_of convert).
// - TokenKey and seal_token/open_token: a token's 16 bytes XOR the first 16
//   bytes of HMAC-SHA256(key, tokenHash), as 32 hex digits. (A token that
//   is not a UUID, only ever a hand-built test's, is sealed as its text when
//   it has at most 16 bytes, so 2-32 hex digits.) The log keeps
//   this seal beside the hash so that the engine (which holds the key, kept
//   outside the log) can give a user its same live token back after a
//   restart (SPEC §2), which a hash alone cannot. Each seal uses its own
//   HMAC output (hashes differ per token), so seals are a one-time pad under
//   a PRF; open_token checks the result against the hash, so a wrong key is
//   detected, never silently believed.
// - equal_secrets(a, b): compares keys in time independent of where they
//   differ and of the secret's length (it compares their SHA-256 digests
//   with CRYPTO_memcmp).
//
// SHA-256 is OpenSSL's libcrypto (Debian's, which cpp-httplib's TLS support
// links already: a reviewed, SHA-NI-accelerated implementation beats a
// home-made one); HMAC is RFC 2104 written out over it (OpenSSL 3's HMAC()
// looks the digest up on every call).
//
// Thread safety: any thread (each keeps its own digest context); a TokenKey
// is an immutable value.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/status.h"

namespace reservoir::secrets {

inline constexpr size_t kDigestBytes = 32;
inline constexpr size_t kHashChars = 2 * kDigestBytes;  // token_hash's length
inline constexpr size_t kSealChars = 32;                // seal_token's length, at most

using Digest = std::array<unsigned char, kDigestBytes>;

Digest sha256(std::string_view bytes);
// The raw digest as a string of 32 bytes (a key for hash tables).
std::string token_digest(std::string_view token);
std::string token_hash(std::string_view token);
// Hex <-> raw: digest_of returns "" for anything but 64 lower-case hex digits.
std::string hex_of(std::string_view raw);
std::string digest_of(std::string_view hex);
// digest_of into a buffer (no allocation: the engine applies one per token
// event); false, leaving `out` unspecified, where digest_of returns "".
bool digest_into(std::string_view hex, char (&out)[kDigestBytes]);
// token_digest into a buffer, for lookups on the engine's command path.
void token_digest_into(std::string_view token, char (&out)[kDigestBytes]);

struct TokenKey {
  std::array<unsigned char, 32> bytes{};
  // A fixed key for tests and tools that decide commands without a data
  // directory (gen-log, bench): never for a server.
  static TokenKey for_tests();
};
// TokenKey::for_tests(), made once.
const TokenKey& test_key();

// The seal of `token` (a UUID string) named by `hash` (token_hash(token));
// "" for a token that cannot be sealed.
std::string seal_token(const TokenKey& key, std::string_view token, std::string_view hash);
// The token a seal hides, or nullopt when it does not hash to `hash` (a seal
// made under another key, or damaged).
std::optional<std::string> open_token(const TokenKey& key, std::string_view seal,
                                      std::string_view hash);

// The key in `path` (32 bytes); when the file does not exist, a new random
// key is written there first (mode 0600, atomically). IOError otherwise.
Result<TokenKey> load_or_create_key(const std::string& path);

bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace reservoir::secrets
