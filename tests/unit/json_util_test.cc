// api/json_util.h: parsing request bodies.
#include <doctest/doctest.h>

#include <string>

#include "api/json_util.h"

namespace reservoir::api {
namespace {

std::string big_body(size_t fields) {
  std::string body = "{";
  for (size_t i = 0; i < fields; ++i) {
    if (i > 0) body += ",";
    body += "\"k" + std::to_string(i) + "\":\"" + std::string(40, 'x') + "\"";
  }
  return body + ",\"last\":7}";
}

TEST_CASE("parse_object on the thread's arena: bodies of any size, one after another") {
  std::string error;
  {
    rapidjson::Document doc(&thread_parse_arena());
    REQUIRE(parse_object(R"({"userId":"u1","amount":5})", doc, &error));
    CHECK(doc["amount"].GetInt() == 5);
  }
  {
    // Over kParseArenaBytes: the arena takes more chunks, freed by the next call.
    const std::string body = big_body(2000);
    REQUIRE(body.size() > kParseArenaBytes);
    rapidjson::Document doc(&thread_parse_arena());
    REQUIRE(parse_object(body, doc, &error));
    CHECK(doc.MemberCount() == 2001);
    CHECK(doc["last"].GetInt() == 7);
    CHECK(std::string(doc["k1999"].GetString()) == std::string(40, 'x'));
  }
  for (int round = 0; round < 3; ++round) {
    rapidjson::Document doc(&thread_parse_arena());
    REQUIRE(parse_object(R"({"a":[1,2,3],"b":{"c":"d"}})", doc, &error));
    CHECK(doc["a"].Size() == 3);
    CHECK(std::string(doc["b"]["c"].GetString()) == "d");
  }
  rapidjson::Document bad(&thread_parse_arena());
  CHECK_FALSE(parse_object("{\"a\":", bad, &error));
  CHECK(error.find("malformed JSON") == 0);
}

}  // namespace
}  // namespace reservoir::api
