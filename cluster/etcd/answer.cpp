#include "answer.hpp"

#include "base64.hpp"
#include "durable/errc.hpp"

namespace durable::etcd {

using nlohmann::json;

using nlohmann::json;

caf::error malformed(const char* what) {
  return make_error(errc::unavailable,
                    std::string{"etcd: malformed answer: "} + what);
}

/// etcd's JSON renders 64-bit integers as strings and omits zeros.
std::optional<int64_t> int_field(const json& obj, const char* name) {
  auto i = obj.find(name);
  if (i == obj.end())
    return 0;
  if (i->is_number_integer())
    return i->get<int64_t>();
  if (!i->is_string())
    return std::nullopt;
  auto& text = i->get_ref<const std::string&>();
  try {
    size_t used = 0;
    auto n = std::stoll(text, &used);
    if (used == text.size())
      return n;
  } catch (...) {
    // Out of range or no digits: malformed, below.
  }
  return std::nullopt;
}

/// The revision in the answer's header.
caf::expected<int64_t> header_revision(const json& body) {
  auto h = body.find("header");
  if (h == body.end() || !h->is_object())
    return malformed("no header");
  if (auto rev = int_field(*h, "revision"); rev && *rev > 0)
    return *rev;
  return malformed("no revision");
}

/// Reads one entry of a range answer's `kvs`.
caf::expected<key_value> read_kv(const json& kv, std::string* key) {
  if (!kv.is_object())
    return malformed("kvs entry is not an object");
  if (key != nullptr) {
    auto k = kv.find("key");
    auto bytes = k != kv.end() && k->is_string()
                     ? base64_decode(k->get_ref<const std::string&>())
                     : std::nullopt;
    if (!bytes)
      return malformed("kvs entry without a key");
    *key = std::move(*bytes);
  }
  key_value result;
  auto value = kv.find("value"); // Absent for an empty value.
  auto bytes = value == kv.end() ? std::optional<std::string>{""}
               : value->is_string()
                   ? base64_decode(value->get_ref<const std::string&>())
                   : std::nullopt;
  auto created = int_field(kv, "create_revision");
  auto modified = int_field(kv, "mod_revision");
  auto lease_id = int_field(kv, "lease");
  if (!bytes || !created || !modified || !lease_id || *created <= 0)
    return malformed("kvs entry");
  result.value = std::move(*bytes);
  result.create_revision = *created;
  result.mod_revision = *modified;
  result.lease = *lease_id;
  return result;
}

/// The single key of a range answer, or nothing.
caf::expected<std::optional<key_value>> single_kv(const json& range) {
  auto kvs = range.find("kvs");
  if (kvs == range.end())
    return std::optional<key_value>{};
  if (!kvs->is_array() || kvs->size() != 1)
    return malformed("kvs is not one entry");
  auto kv = read_kv(kvs->front());
  if (!kv)
    return std::move(kv.error());
  return std::optional<key_value>{std::move(*kv)};
}

caf::error rejected(const gateway_answer& answer) {
  return make_error(errc::invalid_argument,
                    "etcd rejected the request: " + answer.message);
}

/// The body of an answer that succeeded, or why the call failed.
caf::expected<json> body_of(caf::expected<gateway_answer> answer) {
  if (!answer)
    return std::move(answer.error());
  if (answer->code != 0)
    return rejected(*answer);
  return std::move(answer->body);
}

caf::error check_key(const std::string& key) {
  if (key.empty())
    return make_error(errc::invalid_argument, "etcd: empty key");
  return caf::none;
}

caf::error check_batch(const std::vector<std::string>& keys) {
  if (keys.empty() || keys.size() > max_batch)
    return make_error(errc::invalid_argument,
                      "etcd: a batch holds 1 to 64 keys");
  for (auto& key : keys)
    if (auto err = check_key(key))
      return err;
  return caf::none;
}

/// The `i`th range answer of a transaction's `responses`.
caf::expected<std::optional<key_value>> range_answer(const json& body, size_t i,
                                                     size_t n) {
  auto responses = body.find("responses");
  if (responses == body.end() || !responses->is_array() ||
      responses->size() != n)
    return malformed("txn without its range answers");
  auto& entry = (*responses)[i];
  if (!entry.is_object() || !entry.contains("response_range"))
    return malformed("txn answer is not a range");
  return single_kv(entry["response_range"]);
}

} // namespace durable::etcd
