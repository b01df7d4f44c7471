#include "durable/etcd_client.hpp"

#include "answer.hpp"
#include "base64.hpp"
#include "durable/errc.hpp"
#include "gateway.hpp"

namespace durable::etcd {

using nlohmann::json;

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
