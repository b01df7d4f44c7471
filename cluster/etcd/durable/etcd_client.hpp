#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace durable::etcd {

class gateway;

/// How an `etcd::client` reaches the cluster.
struct client_options {
  /// The client URLs of the etcd members, `host:port` or `http://host:port`
  /// (host names are resolved once, when the client is made).
  std::vector<std::string> endpoints;
  /// Bound of one call, fail-over and retries included: a call that no
  /// endpoint answered within it fails with `errc::unavailable`.
  std::chrono::milliseconds timeout{5000};
  /// Bound of one attempt at one endpoint (connect, send, answer), so that a
  /// frozen member costs this much before the next one is tried.
  std::chrono::milliseconds attempt_timeout{1000};
  /// Idle keep-alive connections kept per endpoint (more are closed).
  size_t max_idle_connections = 16;
  // Not yet: TLS (https endpoints) and user/password authentication.
};

/// One key's current state.
struct key_value {
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  /// The lease the key is attached to, 0 if none.
  int64_t lease = 0;
};

/// A condition of `commit_if`: `key` was last modified at `mod_revision`
/// (0: the key does not exist).
struct key_revision {
  std::string key;
  int64_t mod_revision = 0;
};

/// A write of `commit_if`.
struct key_write {
  std::string key;
  std::string value;
};

/// One key of a `range` answer.
struct keyed_value {
  std::string key;
  key_value kv;
};

/// The answer to `claim`: the one value the key holds, whoever wrote it.
struct claim_result {
  /// The winning value (the caller's own if it won).
  std::string owner;
  /// The revision that created the claim; equal for every racer.
  int64_t create_revision = 0;
  /// Whether this call's transaction created the key. A call whose first
  /// attempt committed but whose answer was lost (fail-over) sees `false`
  /// with `owner` equal to its own value: compare `owner`, not this flag.
  bool created = false;
};

/// A granted lease.
struct lease {
  int64_t id = 0;
  /// Seconds to live, as granted (or as renewed by `keep_alive`).
  int64_t ttl = 0;
};

/// A synchronous, thread-safe etcd v3 client over the HTTP/JSON gateway
/// (`/v3/...`, etcd 3.4) with fail-over across endpoints.
///
/// Every call blocks the calling thread for at most `options.timeout` and
/// returns its failure as a value: `errc::unavailable` (retryable) when no
/// endpoint answered in time or the cluster has no leader, and
/// `errc::invalid_argument` when etcd rejected the request itself. An
/// endpoint that fails is skipped for the next member (round robin, the last
/// member that answered first) until the call's deadline.
///
/// Synchronous on purpose: a call is one round trip whose retries and
/// fail-over read as straight code, and concurrency comes from the callers'
/// threads (each thread uses its own pooled connection). **A CAF actor must
/// never call it from an event-based handler**: run calls in a
/// `spawn<caf::detached>` worker (its own thread, so blocking it stalls no
/// scheduler thread) whose handler makes the call and replies with its
/// result (e.g. the owner, or the error); callers `request` the worker with
/// a timeout and go on in `.then`. A pool of such workers gives throughput
/// (etcd batches concurrent transactions into one fsync): one worker per
/// call in flight.
class client {
public:
  /// Makes a client; fails with `errc::invalid_argument` for an empty or
  /// malformed endpoint list or host names that do not resolve.
  static caf::expected<std::unique_ptr<client>> make(client_options opts);

  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// In one transaction: creates `key` with `value` if it does not exist
  /// (create revision 0), else reads the value it has. Every racer on one key
  /// learns the same owner. A key created with `lease_id` (not 0) goes when
  /// the lease does.
  caf::expected<claim_result>
  claim(const std::string& key, const std::string& value, int64_t lease_id = 0);

  /// `claim` for many keys at once, `values[i]` for `keys[i]`: one
  /// transaction creates them all if none exists (one commit for all), else
  /// reads them; keys that existed get their value, and the others are
  /// claimed again (each round settles at least one key). Returns the owner
  /// of each key, in order. At most 64 keys (etcd's default limit of
  /// operations per transaction is 128).
  caf::expected<std::vector<std::string>>
  claim_all(const std::vector<std::string>& keys,
            const std::vector<std::string>& values);

  /// Linearizable reads of `keys` in one read-only transaction (no commit):
  /// the value of each, or nothing where a key does not exist. At most 64.
  caf::expected<std::vector<std::optional<std::string>>>
  get_all(const std::vector<std::string>& keys);

  /// A linearizable read of `key`: nothing if it does not exist.
  caf::expected<std::optional<key_value>> get(const std::string& key);

  /// A linearizable read of up to `limit` (1 to 1000) keys in [`from`,
  /// `end`), in key order.
  caf::expected<std::vector<keyed_value>>
  range(const std::string& from, const std::string& end, size_t limit);

  /// In one transaction: makes `writes` (1 to 64) if every condition of
  /// `unchanged` (at most 64) holds. Returns the revision of the writes, or
  /// nothing if a condition failed. A call whose first attempt committed but
  /// whose answer was lost (fail-over) sees its own write as a failed
  /// condition.
  caf::expected<std::optional<int64_t>>
  commit_if(const std::vector<key_revision>& unchanged,
            const std::vector<key_write>& writes);

  /// Writes `key`, attached to `lease_id` if not 0 (the key goes when the
  /// lease does). Returns the revision of the write.
  caf::expected<int64_t> put(const std::string& key, const std::string& value,
                             int64_t lease_id = 0);

  /// Grants a lease of `ttl` seconds. A retried grant whose first answer was
  /// lost leaves an unused lease behind until it expires.
  caf::expected<lease> grant(std::chrono::seconds ttl);

  /// Renews `lease_id` once; `errc::invalid_argument` if it expired or was
  /// revoked (it cannot come back: its keys are gone).
  caf::expected<lease> keep_alive(int64_t lease_id);

  /// Revokes `lease_id` and deletes its keys. Revoking a lease that is gone
  /// already succeeds (so a retried revoke does too).
  caf::expected<void> revoke(int64_t lease_id);

  /// The endpoints as given.
  const std::vector<std::string>& endpoints() const;

private:
  explicit client(std::unique_ptr<gateway> gw);
  std::unique_ptr<gateway> gw_;
};

} // namespace durable::etcd
