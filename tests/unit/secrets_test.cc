// Secrets (events/secrets.h; issue 16): SHA-256 against published vectors,
// seals that open only under their key, constant-time key comparison, and
// the engine's tokens: 122 random bits, found among many by their hash,
// named only by hashes in events old and new.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include <unistd.h>

#include <cstdio>

#include "engine/concert/decide.h"
#include "engine/concert/module.h"
#include "events/codec.h"
#include "events/concert_events.h"
#include "events/json_codec.h"
#include "events/secrets.h"
#include "support/given.h"

namespace reservoir {
namespace {

namespace ev = events;
using concert::IssueToken;
using concert::TokenReply;
using test::kT0;

TEST_CASE("secrets: SHA-256 of the FIPS 180-2 vectors") {
  CHECK(secrets::token_hash("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(secrets::token_hash("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(secrets::token_hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string raw = secrets::token_digest("abc");
  CHECK(raw.size() == 32);
  CHECK(secrets::hex_of(raw) == secrets::token_hash("abc"));
  CHECK(secrets::digest_of(secrets::token_hash("abc")) == raw);
  CHECK(secrets::digest_of("not hex").empty());
  CHECK(secrets::digest_of(std::string(64, 'G')).empty());
}

TEST_CASE("secrets: hex and token text parse only in their exact lower-case form") {
  const std::string hash = secrets::token_hash("abc");
  // Every byte that is not a lower-case hex digit, at every place, is refused
  // (the parser works eight digits at a time).
  for (size_t at = 0; at < hash.size(); at += 7) {
    for (int c = 0; c < 256; ++c) {
      std::string bad = hash;
      bad[at] = static_cast<char>(c);
      const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      CHECK(secrets::digest_of(bad).empty() == !digit);
    }
  }
  const std::string token = "0f8fad5b-d9cb-469f-a165-70867728950e";
  char bytes[secrets::kTokenBytes];
  REQUIRE(secrets::token_bytes(token, bytes));
  std::string text;
  secrets::token_text_into(bytes, text);
  CHECK(text == token);
  CHECK_FALSE(secrets::token_bytes("0F8FAD5B-D9CB-469F-A165-70867728950E", bytes));
  CHECK_FALSE(secrets::token_bytes("0f8fad5bd-9cb-469f-a165-70867728950e", bytes));
  CHECK_FALSE(secrets::token_bytes("0f8fad5b-d9cb-469f-a165-70867728950", bytes));
  CHECK_FALSE(secrets::token_bytes("t1", bytes));
  std::string hex;
  secrets::hex_into(std::string_view("\x00\x7f\x80\xff\x12", 5), hex);
  CHECK(hex == "007f80ff12");
}

TEST_CASE("secrets: a seal opens under its key only, to the token its hash names") {
  const std::string token = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const std::string hash = secrets::token_hash(token);
  const std::string seal = secrets::seal_token(secrets::test_key(), token);
  CHECK(seal.size() == secrets::kSealChars);
  CHECK(seal.find("0f8fad5b") == std::string::npos);
  CHECK(secrets::open_token(secrets::test_key(), seal, hash) == token);
  secrets::TokenKey other = secrets::test_key();
  other.bytes[0] ^= 1;
  CHECK_FALSE(secrets::open_token(other, seal, hash));
  CHECK_FALSE(secrets::open_token(secrets::test_key(), seal, secrets::token_hash("x")));
  CHECK_FALSE(secrets::open_token(secrets::test_key(), "", hash));
  // Two tokens' seals under one key share no pad: each is keyed by its hash.
  const std::string token2 = "0f8fad5b-d9cb-469f-a165-70867728950f";
  CHECK(secrets::seal_token(secrets::test_key(), token2) != seal);
  // A hand-built test's short token is sealed too, and opens to itself.
  const std::string t1 = secrets::seal_token(secrets::test_key(), "t1");
  CHECK(secrets::open_token(secrets::test_key(), t1, secrets::token_hash("t1")) == "t1");
  CHECK(secrets::seal_token(secrets::test_key(), std::string(17, 'x')).empty());
}

TEST_CASE("secrets: a token key is made once, then read back") {
  const std::string path = "/tmp/reservoir-secrets-test-" + std::to_string(::getpid()) + ".key";
  std::remove(path.c_str());
  auto made = secrets::load_or_create_key(path);
  REQUIRE(made.ok());
  auto read = secrets::load_or_create_key(path);
  REQUIRE(read.ok());
  CHECK(read->bytes == made->bytes);
  CHECK(made->bytes != secrets::test_key().bytes);
  std::remove(path.c_str());
}

TEST_CASE("secrets: keys compare equal only when equal, whatever the lengths") {
  CHECK(secrets::equal_secrets("admin-key", "admin-key"));
  CHECK_FALSE(secrets::equal_secrets("admin-kez", "admin-key"));
  CHECK_FALSE(secrets::equal_secrets("admin-ke", "admin-key"));
  CHECK_FALSE(secrets::equal_secrets("admin-key-", "admin-key"));
  CHECK_FALSE(secrets::equal_secrets("", "admin-key"));
  CHECK_FALSE(secrets::equal_secrets("", ""));  // no key configured never matches
}

TEST_CASE("secrets: tokens carry 122 random bits: every bit but version and variant varies") {
  test::Scenario g;
  constexpr int kUsers = 512;
  std::array<int, 128> ones{};
  for (int u = 0; u < kUsers; ++u) {
    const std::string id = "u" + std::to_string(u);
    g.given(ev::UserRegistered{id, id});
    g.when(IssueToken{id}, kT0 + 1);
    const std::string token = g.then_reply<TokenReply>().token;
    REQUIRE(token.size() == 36);
    std::string hex;
    for (char c : token) {
      if (c != '-') hex.push_back(c);
    }
    for (int bit = 0; bit < 128; ++bit) {
      const int nibble = std::stoi(hex.substr(static_cast<size_t>(bit / 4), 1), nullptr, 16);
      ones[static_cast<size_t>(bit)] += (nibble >> (3 - bit % 4)) & 1;
    }
  }
  int varying = 0;
  for (int count : ones) varying += count > 0 && count < kUsers;
  CHECK(varying == 122);
  // The fixed six: version 4 (0100) at bits 48-51, variant 10 at bits 64-65.
  CHECK(ones[48] == 0);
  CHECK(ones[49] == kUsers);
  CHECK(ones[50] == 0);
  CHECK(ones[51] == 0);
  CHECK(ones[64] == kUsers);
  CHECK(ones[65] == 0);
}

TEST_CASE("secrets: among many tokens each is found by its hash, and no other") {
  test::Scenario g;
  constexpr int kUsers = 20'000;
  std::vector<std::string> tokens;
  for (int u = 0; u < kUsers; ++u) g.given(ev::UserRegistered{"u" + std::to_string(u), "U"});
  for (int u = 0; u < kUsers; ++u) {
    g.when(IssueToken{"u" + std::to_string(u)}, kT0 + 1);
    tokens.push_back(g.then_reply<TokenReply>().token);
  }
  for (int u = 0; u < kUsers; ++u) {
    const Id t = g.state.find_token(tokens[static_cast<size_t>(u)]);
    REQUIRE(t != kNoId);
    CHECK(g.state.token_user(t) == "u" + std::to_string(u));
    CHECK(g.state.find_token_hash(secrets::token_hash(tokens[static_cast<size_t>(u)])) == t);
  }
  std::string near = tokens[0];
  near[35] = near[35] == '0' ? '1' : '0';
  CHECK(g.state.find_token(near) == kNoId);
  CHECK(g.state.find_token(secrets::token_hash(tokens[0])) == kNoId);  // a hash is no token
  CHECK(g.state.find_token("") == kNoId);
}

TEST_CASE("secrets: tokens the writer issued are found by their bytes, or by their hash") {
  // More tokens than RecentTokens has slots: some slots are taken by later
  // tokens, and those earlier ones are found by their SHA-256 instead.
  constexpr int kUsers = static_cast<int>(concert::RecentTokens::kSlots) + 5000;
  concert::State s;
  concert::Limits limits;
  limits.active_tokens_max = kUsers;
  SeededRandom random(7);
  concert::Events out;
  std::vector<std::string> tokens;
  for (int u = 0; u < kUsers; ++u) {
    const std::string id = "u" + std::to_string(u);
    s.apply(ev::UserRegistered{id, id});
    concert::Context ctx{kT0, random, limits};
    out.clear();
    const concert::Reply reply = concert::decide(s, IssueToken{id}, ctx, out);
    concert::apply_decided(s, out, reply);
    tokens.push_back(std::get<TokenReply>(reply).token);
  }
  std::string back;
  for (int u = 0; u < kUsers; ++u) {
    const Id t = s.find_token(tokens[static_cast<size_t>(u)]);
    REQUIRE(t == static_cast<Id>(u));
    REQUIRE(s.clear_token(t, back));
    CHECK(back == tokens[static_cast<size_t>(u)]);
  }
  std::string near = tokens.back();
  near[35] = near[35] == '0' ? '1' : '0';
  CHECK(s.find_token(near) == kNoId);
  // A copy of the state starts with no RecentTokens: it finds a token by
  // its hash.
  concert::State copy = s;
  CHECK(copy.find_token(tokens.front()) == 0);
}

// The event as schema `version` wrote it: fields of that version only.
template <class E>
EventEnvelope envelope_at(const E& e, uint32_t version) {
  EventEnvelope env = ev::ConcertCatalog::encode(ev::ConcertEvent(e), kT0);
  env.version = version;
  env.payload.clear();
  E::fields(e, [&](const char*, const auto& v, uint32_t since = 1, uint32_t until = codec::kLive) {
    if (since <= version && version <= until) codec::put_value(env.payload, v);
  });
  return env;
}

TEST_CASE("secrets: token events of versions 1 and 2 (tokens in clear) decode with hashes") {
  ev::TokenIssued old;
  old.legacy_token = "8a1c3b5e-0000-8000-8000-00000000abcd";
  old.user_id = "u1";
  old.seq = 3;
  old.issued_at = kT0;
  old.token_id = 77;
  const std::string hash = secrets::token_hash(old.legacy_token);
  for (uint32_t version : {1u, 2u}) {
    auto decoded = ev::ConcertCatalog::decode(envelope_at(old, version));
    REQUIRE(decoded.ok());
    const auto& e = std::get<ev::TokenIssued>(*decoded);
    CHECK(e.token_hash == hash);
    CHECK(e.legacy_token == old.legacy_token);
    CHECK(e.token_seal.empty());
    CHECK(e.token_id == (version == 1 ? ev::TokenIssued::legacy_token_id(old.legacy_token) : 77));
  }
  ev::TokenExpired expired{"", "u1", "TTL", true, kT0};
  expired.legacy_token = old.legacy_token;
  auto decoded = ev::ConcertCatalog::decode(envelope_at(expired, 1));
  REQUIRE(decoded.ok());
  CHECK(std::get<ev::TokenExpired>(*decoded).token_hash == hash);

  // Written now: no token, and its rendering (replay) shows only the hash.
  ev::TokenIssued now = std::get<ev::TokenIssued>(*ev::ConcertCatalog::decode(envelope_at(old, 1)));
  const EventEnvelope env = ev::ConcertCatalog::encode(ev::ConcertEvent(now), kT0);
  CHECK(env.version == 3);
  CHECK(env.payload.find(old.legacy_token) == std::string::npos);
  rapidjson::StringBuffer buf;
  codec::JsonWriter w(buf);
  codec::write_json_value(w, now);
  const std::string json = buf.GetString();
  CHECK(json.find(old.legacy_token) == std::string::npos);
  CHECK(json.find("\"tokenHash\":\"" + hash + "\"") != std::string::npos);
}

TEST_CASE("secrets: a module seals an old token on load, so the user gets it back") {
  concert::Module m{concert::Limits{}};
  REQUIRE(m.apply(ev::ConcertCatalog::encode(ev::UserRegistered{"u1", "U"}, kT0)).ok());
  ev::TokenIssued old;
  old.legacy_token = "8a1c3b5e-0000-8000-8000-00000000abcd";
  old.user_id = "u1";
  old.seq = 1;
  old.issued_at = kT0;
  REQUIRE(m.apply(envelope_at(old, 2)).ok());
  CHECK(m.snapshot().find(old.legacy_token) == std::string::npos);
  SeededRandom random(1);
  std::vector<EventEnvelope> out;
  const concert::Reply reply = m.execute(IssueToken{"u1"}, kT0 + 1, random, out);
  REQUIRE(std::holds_alternative<TokenReply>(reply));
  CHECK(std::get<TokenReply>(reply).token == old.legacy_token);
  CHECK(m.reveal(secrets::token_hash(old.legacy_token)) == old.legacy_token);
}

}  // namespace
}  // namespace reservoir
