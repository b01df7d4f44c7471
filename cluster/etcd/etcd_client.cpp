#include "durable/etcd_client.hpp"

#include "base64.hpp"
#include "durable/errc.hpp"
#include "gateway.hpp"

namespace durable::etcd {

namespace {

using nlohmann::json;

/// gRPC NOT_FOUND, e.g. "etcdserver: requested lease not found".
constexpr int not_found = 5;

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
caf::expected<key_value> read_kv(const json& kv) {
  if (!kv.is_object())
    return malformed("kvs entry is not an object");
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

} // namespace

client::client(std::unique_ptr<gateway> gw) : gw_(std::move(gw)) {
  // Nothing else.
}

client::~client() = default;

caf::expected<std::unique_ptr<client>> client::make(client_options opts) {
  auto gw = gateway::make(std::move(opts));
  if (!gw)
    return std::move(gw.error());
  return std::unique_ptr<client>{new client(std::move(*gw))};
}

const std::vector<std::string>& client::endpoints() const {
  return gw_->options().endpoints;
}

caf::expected<claim_result> client::claim(const std::string& key,
                                          const std::string& value,
                                          int64_t lease_id) {
  if (auto err = check_key(key))
    return err;
  auto k = base64_encode(key);
  json compare = {{"key", k},
                  {"target", "CREATE"},
                  {"result", "EQUAL"},
                  {"create_revision", "0"}};
  json put = {{"key", k}, {"value", base64_encode(value)}};
  if (lease_id != 0)
    put["lease"] = std::to_string(lease_id);
  json range = {{"key", k}};
  json req = json::object();
  req["compare"] = json::array({compare});
  req["success"] = json::array({json{{"request_put", put}}});
  req["failure"] = json::array({json{{"request_range", range}}});
  auto answer = body_of(gw_->call("/v3/kv/txn", req));
  if (!answer)
    return std::move(answer.error());
  auto& body = *answer;
  auto succeeded = body.find("succeeded"); // Absent when false.
  if (succeeded != body.end() && *succeeded == true) {
    auto rev = header_revision(body);
    if (!rev)
      return std::move(rev.error());
    return claim_result{value, *rev, true};
  }
  // The key existed: the failure branch read it in the same transaction.
  auto responses = body.find("responses");
  if (responses == body.end() || !responses->is_array() ||
      responses->size() != 1 || !responses->front().is_object() ||
      !responses->front().contains("response_range"))
    return malformed("txn without the range answer");
  auto kv = single_kv(responses->front()["response_range"]);
  if (!kv)
    return std::move(kv.error());
  if (!*kv)
    return malformed("failed claim without the existing key");
  return claim_result{std::move((*kv)->value), (*kv)->create_revision, false};
}

namespace {

constexpr size_t max_batch = 64;

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

} // namespace

caf::expected<std::vector<std::string>>
client::claim_all(const std::vector<std::string>& keys,
                  const std::vector<std::string>& values) {
  if (auto err = check_batch(keys))
    return err;
  if (values.size() != keys.size())
    return make_error(errc::invalid_argument,
                      "etcd: claim_all needs one value per key");
  std::vector<std::string> result(keys.size());
  std::vector<size_t> open(keys.size());
  for (size_t i = 0; i < open.size(); ++i)
    open[i] = i;
  while (!open.empty()) {
    json compares = json::array();
    json puts = json::array();
    json ranges = json::array();
    for (auto i : open) {
      auto k = base64_encode(keys[i]);
      compares.push_back({{"key", k},
                          {"target", "CREATE"},
                          {"result", "EQUAL"},
                          {"create_revision", "0"}});
      puts.push_back(
          {{"request_put", {{"key", k}, {"value", base64_encode(values[i])}}}});
      ranges.push_back({{"request_range", {{"key", k}}}});
    }
    json req = {{"compare", std::move(compares)},
                {"success", std::move(puts)},
                {"failure", std::move(ranges)}};
    auto answer = body_of(gw_->call("/v3/kv/txn", req));
    if (!answer)
      return std::move(answer.error());
    auto& body = *answer;
    auto succeeded = body.find("succeeded");
    if (succeeded != body.end() && *succeeded == true) {
      for (auto i : open)
        result[i] = values[i];
      break;
    }
    // Some key existed: those are settled, the rest go round again.
    std::vector<size_t> still_open;
    for (size_t n = 0; n < open.size(); ++n) {
      auto kv = range_answer(body, n, open.size());
      if (!kv)
        return std::move(kv.error());
      if (*kv)
        result[open[n]] = std::move((*kv)->value);
      else
        still_open.push_back(open[n]);
    }
    if (still_open.size() == open.size())
      return malformed("failed claims without an existing key");
    open = std::move(still_open);
  }
  return result;
}

caf::expected<std::vector<std::optional<std::string>>>
client::get_all(const std::vector<std::string>& keys) {
  if (auto err = check_batch(keys))
    return err;
  // A transaction without writes is read-only: etcd serves it with a
  // linearizable read, no commit.
  json ranges = json::array();
  for (auto& key : keys)
    ranges.push_back({{"request_range", {{"key", base64_encode(key)}}}});
  json req = {{"success", std::move(ranges)}};
  auto body = body_of(gw_->call("/v3/kv/txn", req));
  if (!body)
    return std::move(body.error());
  std::vector<std::optional<std::string>> result;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto kv = range_answer(*body, i, keys.size());
    if (!kv)
      return std::move(kv.error());
    if (*kv)
      result.emplace_back(std::move((*kv)->value));
    else
      result.emplace_back();
  }
  return result;
}

caf::expected<std::optional<key_value>> client::get(const std::string& key) {
  if (auto err = check_key(key))
    return err;
  // No "serializable": the gateway's default range is linearizable.
  auto body =
      body_of(gw_->call("/v3/kv/range", json{{"key", base64_encode(key)}}));
  if (!body)
    return std::move(body.error());
  return single_kv(*body);
}

caf::expected<int64_t> client::put(const std::string& key,
                                   const std::string& value, int64_t lease_id) {
  if (auto err = check_key(key))
    return err;
  json req = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease_id != 0)
    req["lease"] = std::to_string(lease_id);
  auto body = body_of(gw_->call("/v3/kv/put", req));
  if (!body)
    return std::move(body.error());
  return header_revision(*body);
}

caf::expected<lease> client::grant(std::chrono::seconds ttl) {
  if (ttl.count() <= 0)
    return make_error(errc::invalid_argument, "etcd: lease TTL must be > 0");
  auto body = body_of(
      gw_->call("/v3/lease/grant", json{{"TTL", std::to_string(ttl.count())}}));
  if (!body)
    return std::move(body.error());
  auto id = int_field(*body, "ID");
  auto granted = int_field(*body, "TTL");
  if (!id || !granted || *id == 0 || *granted <= 0)
    return malformed("lease grant");
  return lease{*id, *granted};
}

caf::expected<lease> client::keep_alive(int64_t lease_id) {
  auto body = body_of(
      gw_->call("/v3/lease/keepalive", json{{"ID", std::to_string(lease_id)}}));
  if (!body)
    return std::move(body.error());
  auto result = body->find("result");
  if (result == body->end() || !result->is_object())
    return malformed("keep-alive without a result");
  auto ttl = int_field(*result, "TTL");
  if (!ttl)
    return malformed("keep-alive TTL");
  // etcd answers an unknown lease with TTL 0 (omitted) instead of an error.
  if (*ttl <= 0)
    return make_error(errc::invalid_argument, "etcd: lease " +
                                                  std::to_string(lease_id) +
                                                  " expired or was revoked");
  return lease{lease_id, *ttl};
}

caf::expected<void> client::revoke(int64_t lease_id) {
  auto answer =
      gw_->call("/v3/lease/revoke", json{{"ID", std::to_string(lease_id)}});
  if (!answer)
    return std::move(answer.error());
  if (answer->code != 0 && answer->code != not_found)
    return rejected(*answer);
  return caf::unit;
}

} // namespace durable::etcd
