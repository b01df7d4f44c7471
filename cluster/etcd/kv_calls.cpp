// The client's plain key-value calls: reads, writes and compare-and-swap.

#include "answer.hpp"
#include "base64.hpp"
#include "durable/errc.hpp"
#include "durable/etcd_client.hpp"
#include "gateway.hpp"

namespace durable::etcd {

using nlohmann::json;

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

caf::expected<std::vector<keyed_value>>
client::range(const std::string& from, const std::string& end, size_t limit) {
  if (auto err = check_key(from))
    return err;
  if (limit == 0 || limit > 1000)
    return make_error(errc::invalid_argument,
                      "etcd: a range reads 1 to 1000 keys");
  json req = {{"key", base64_encode(from)},
              {"range_end", base64_encode(end)},
              {"limit", std::to_string(limit)}};
  auto body = body_of(gw_->call("/v3/kv/range", req));
  if (!body)
    return std::move(body.error());
  std::vector<keyed_value> result;
  auto kvs = body->find("kvs");
  if (kvs == body->end())
    return result;
  if (!kvs->is_array() || kvs->size() > limit)
    return malformed("range kvs");
  for (auto& entry : *kvs) {
    keyed_value x;
    auto kv = read_kv(entry, &x.key);
    if (!kv)
      return std::move(kv.error());
    x.kv = std::move(*kv);
    result.push_back(std::move(x));
  }
  return result;
}

caf::expected<std::optional<int64_t>>
client::commit_if(const std::vector<key_revision>& unchanged,
                  const std::vector<key_write>& writes) {
  if (writes.empty() || writes.size() > max_batch ||
      unchanged.size() > max_batch)
    return make_error(errc::invalid_argument,
                      "etcd: a transaction makes 1 to 64 writes under at "
                      "most 64 conditions");
  json compares = json::array();
  for (auto& c : unchanged) {
    if (auto err = check_key(c.key))
      return err;
    compares.push_back({{"key", base64_encode(c.key)},
                        {"target", "MOD"},
                        {"result", "EQUAL"},
                        {"mod_revision", std::to_string(c.mod_revision)}});
  }
  json puts = json::array();
  for (auto& w : writes) {
    if (auto err = check_key(w.key))
      return err;
    puts.push_back(
        {{"request_put",
          {{"key", base64_encode(w.key)}, {"value", base64_encode(w.value)}}}});
  }
  json req = {{"compare", std::move(compares)}, {"success", std::move(puts)}};
  auto body = body_of(gw_->call("/v3/kv/txn", req));
  if (!body)
    return std::move(body.error());
  auto succeeded = body->find("succeeded"); // Absent when false.
  if (succeeded == body->end() || *succeeded != true)
    return std::optional<int64_t>{};
  auto rev = header_revision(*body);
  if (!rev)
    return std::move(rev.error());
  return std::optional<int64_t>{*rev};
}

} // namespace durable::etcd
