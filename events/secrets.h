// Secrets: the hashing and sealing of queue tokens, and comparing keys.
//
// - token_hash(token): the hex SHA-256 of a token string, 64 lower-case
//   digits. The log, snapshots and projections name a token only by it
//   (docs/SECURITY.md): a reader of them learns no token it could present.
// - token_digest(token): the same hash as 32 raw bytes (the engine's and the
//   projections' lookup key; hex_of/digest_of convert).
// - TokenKey and seal_token/open_token: a token's 16 bytes encrypted with
//   AES-256 under the key (one block, no mode), as 32 hex digits. (A token
//   that is not a UUID, only ever a hand-built test's, is sealed as its text
//   padded with zero bytes when it has at most 16 bytes.) The log keeps this
//   seal beside the hash so that the engine (which holds the key, kept
//   outside the log) can give a user its same live token back after a
//   restart (SPEC §2), which a hash alone cannot. Each block sealed is a
//   fresh 122-bit random value, never sealed twice, so one block of a
//   block cipher is all it takes: without the key a seal says nothing of
//   its token. open_token checks the result against the hash, so a wrong
//   key is detected, never silently believed.
// - equal_secrets(a, b): compares keys in time independent of where they
//   differ and of the secret's length (it compares their SHA-256 digests
//   with CRYPTO_memcmp).
//
// SHA-256 and AES are OpenSSL's libcrypto (Debian's, which cpp-httplib's TLS
// support links already: reviewed implementations on the CPU's SHA and AES
// instructions beat home-made ones). The writer hashes a token on every
// command that presents one, so the per-call costs matter: see secrets.cc.
//
// Thread safety: any thread (each keeps its own cipher contexts); a
// TokenKey is a plain value.
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
inline constexpr size_t kSealChars = 32;                // seal_token's length

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

// A token in the engine's form, a lower-case 8-4-4-4-12 UUID, as its 16
// bytes; false for any other text. token_text_into is the inverse (into
// `out`, reusing its capacity).
inline constexpr size_t kTokenBytes = 16;
bool token_bytes(std::string_view token, char (&out)[kTokenBytes]);
void token_text_into(const char (&bytes)[kTokenBytes], std::string& out);

// The forms decide uses: they write into `out` in place when it already has
// the length (a recycled event's string), so a command allocates nothing.
void hex_into(std::string_view raw, std::string& out);
// token_hash(token) into `out`, and the raw digest into `digest`.
void token_hash_into(std::string_view token, char (&digest)[kDigestBytes], std::string& out);

struct TokenKey {
  std::array<unsigned char, 32> bytes{};  // the AES-256 key
  // A fixed key for tests and tools that decide commands without a data
  // directory (gen-log, bench): never for a server.
  static TokenKey for_tests();
};
// TokenKey::for_tests(), made once.
const TokenKey& test_key();

// The seal of `token` (a UUID string), kSealChars hex digits; "" for a
// token that cannot be sealed.
std::string seal_token(const TokenKey& key, std::string_view token);
void seal_into(const TokenKey& key, std::string_view token, std::string& out);
// The token a seal hides, or nullopt when it does not hash to `hash` (hex;
// a seal made under another key, or damaged).
std::optional<std::string> open_token(const TokenKey& key, std::string_view seal,
                                      std::string_view hash);
// The same, checked against the raw `digest`, into `token`; false (and
// `token` unspecified) where open_token gives nullopt.
bool open_into(const TokenKey& key, std::string_view seal, std::string_view digest,
               std::string& token);

// The key in `path` (32 bytes); when the file does not exist, a new random
// key is written there first (mode 0600, atomically). IOError otherwise.
Result<TokenKey> load_or_create_key(const std::string& path);

bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace reservoir::secrets
