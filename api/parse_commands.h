// Request body -> domain command, with every syntax, type and limit check
// (400 INVALID_REQUEST naming the field; INVALID_AMOUNT for amounts).
//
// Thread safety: pure functions.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <variant>

#include "engine/concert/commands.h"
#include "engine/concert/state.h"
#include "engine/reply.h"

namespace reservoir::api {

using Parsed = std::variant<concert::Command, DomainError>;

Parsed parse_issue_token(const rapidjson::Value& body);
Parsed parse_hold(const rapidjson::Value& body, const std::string& token,
                  const concert::Limits& limits);
Parsed parse_pay(const rapidjson::Value& body, const std::string& token);
Parsed parse_charge(const rapidjson::Value& body);
Parsed parse_register_user(const rapidjson::Value& body);
Parsed parse_create_concert(const rapidjson::Value& body);

}  // namespace reservoir::api
