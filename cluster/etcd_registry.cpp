// The shared namespace registry's log in etcd: one transaction per append,
// comparing the head's modification revision and claiming the tag.

#include "etcd_registry.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "durable/errc.hpp"
#include "durable/etcd_registry.hpp"

namespace durable::cluster {

namespace {

/// Keys per range call while reading the log.
constexpr size_t read_chunk = 500;

class etcd_log : public registry_log {
public:
  etcd_log(std::shared_ptr<etcd::client> etcd, std::string prefix)
      : etcd_(std::move(etcd)), prefix_(std::move(prefix)) {
    // nop
  }

  caf::expected<registry_read> read(uint64_t after) override {
    auto head = etcd_->get(head_key());
    if (!head)
      return std::move(head.error());
    registry_read result;
    if (*head) {
      auto seq = parse_sequence((*head)->value);
      if (!seq)
        return malformed("head", (*head)->value);
      result.head = registry_head{*seq, (*head)->mod_revision};
    }
    if (after > result.head.sequence)
      return make_error(errc::invalid_argument,
                        "this data directory mirrored " +
                            std::to_string(after) + " entries of " +
                            describe() + ", which holds " +
                            std::to_string(result.head.sequence) +
                            ": a different etcd or cluster name, or etcd "
                            "lost its data");
    auto end = log_key(result.head.sequence + 1);
    auto next = after + 1;
    while (next <= result.head.sequence) {
      auto chunk = etcd_->range(log_key(next), end, read_chunk);
      if (!chunk)
        return std::move(chunk.error());
      if (chunk->empty())
        return malformed("log", "entry " + std::to_string(next) + " missing");
      for (auto& x : *chunk) {
        auto seq =
            parse_sequence(std::string_view{x.key}.substr(prefix_.size() + 4));
        if (!seq || *seq != next)
          return malformed("log key", x.key);
        result.entries.push_back(registry_entry{*seq, std::move(x.kv.value)});
        ++next;
      }
    }
    return result;
  }

  caf::expected<std::optional<registry_head>>
  append(const registry_head& head, const std::string& tag,
         const std::string& text) override {
    auto seq = head.sequence + 1;
    std::vector<etcd::key_revision> unchanged{{head_key(), head.version}};
    std::vector<etcd::key_write> writes{{log_key(seq), text},
                                        {head_key(), std::to_string(seq)}};
    if (!tag.empty()) {
      unchanged.push_back({tag_key(tag), 0});
      writes.push_back({tag_key(tag), text});
    }
    auto rev = etcd_->commit_if(unchanged, writes);
    if (!rev)
      return std::move(rev.error());
    if (!*rev)
      return std::optional<registry_head>{};
    return std::optional<registry_head>{registry_head{seq, **rev}};
  }

  caf::expected<std::vector<std::optional<std::string>>>
  find_tags(const std::vector<std::string>& tags) override {
    std::vector<std::string> keys;
    for (auto& tag : tags)
      keys.push_back(tag_key(tag));
    return etcd_->get_all(keys);
  }

  std::string describe() const override {
    return "the registry in etcd at " + prefix_;
  }

private:
  std::string head_key() const { return prefix_ + "head"; }

  /// Zero-padded, so that key order is entry order.
  std::string log_key(uint64_t seq) const {
    char digits[24];
    std::snprintf(digits, sizeof(digits), "%020" PRIu64, seq);
    return prefix_ + "log/" + digits;
  }

  std::string tag_key(const std::string& tag) const {
    return prefix_ + "tags/" + tag;
  }

  static std::optional<uint64_t> parse_sequence(std::string_view x) {
    if (x.empty() || x.size() > 20)
      return std::nullopt;
    uint64_t result = 0;
    for (auto c : x) {
      if (c < '0' || c > '9' || result > (UINT64_MAX - 9) / 10)
        return std::nullopt;
      result = result * 10 + static_cast<uint64_t>(c - '0');
    }
    return result;
  }

  caf::error malformed(const std::string& what, std::string_view x) const {
    return make_error(errc::storage_failure,
                      describe() + ": malformed " + what + " \"" +
                          std::string{x.substr(0, 80)} + "\"");
  }

  std::shared_ptr<etcd::client> etcd_;
  std::string prefix_;
};

} // namespace

std::shared_ptr<registry_log>
make_etcd_registry_log(std::shared_ptr<etcd::client> etcd, std::string prefix) {
  return std::make_shared<etcd_log>(std::move(etcd), std::move(prefix));
}

caf::expected<std::shared_ptr<registry_log>>
etcd_registry_log(std::vector<std::string> endpoints,
                  std::chrono::milliseconds timeout, std::string cluster_name) {
  if (cluster_name.empty())
    return make_error(errc::invalid_argument, "the cluster needs a name");
  etcd::client_options opts;
  opts.endpoints = std::move(endpoints);
  opts.timeout = timeout;
  auto made = etcd::client::make(std::move(opts));
  if (!made)
    return std::move(made.error());
  return make_etcd_registry_log(std::shared_ptr<etcd::client>{std::move(*made)},
                                "/caf-durable/" + cluster_name + "/registry/");
}

} // namespace durable::cluster
