#pragma once

// A token bucket per key: each key (the object's name) may take up to
// `bucket_policy::capacity` tokens at once, refilled at
// `bucket_policy::per_second`. Reached through stubs (`take`, `peek`) and
// over HTTP (`fetch`). A bucket that is full again is forgotten by an alarm,
// so idle keys cost no storage.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "durable/errc.hpp"
#include "durable/fetch.hpp"
#include "durable/object.hpp"

namespace example {

using take_atom = caf::atom_constant<caf::atom("take")>;
using peek_atom = caf::atom_constant<caf::atom("peek")>;
using stored_atom = caf::atom_constant<caf::atom("stored")>;

/// The answer to `take` and `peek`.
struct take_result {
  bool allowed = false;
  /// Whole tokens left after this take.
  uint32_t remaining = 0;
  /// When refused: milliseconds until the tokens asked for are there.
  uint32_t retry_after_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, take_result& x) {
  return f(caf::meta::type_name("example::take_result"), x.allowed, x.remaining,
           x.retry_after_ms);
}

/// `take n` takes n tokens if there are; `peek` tells what `take 1` would;
/// `stored` tells whether the bucket is kept in storage (false once an
/// alarm forgot a full bucket).
using limiter_api =
    caf::typed_actor<caf::replies_to<take_atom, uint32_t>::with<take_result>,
                     caf::replies_to<peek_atom>::with<take_result>,
                     caf::replies_to<stored_atom>::with<bool>,
                     durable::fetch_signature>;

/// The bucket's size and refill rate, the same for every key.
struct bucket_policy {
  static constexpr double capacity = 10;
  static constexpr double per_second = 5;
};

/// What a bucket stores: its tokens at `updated_ms` (ms since the epoch).
/// Tokens at a later time follow from the rate, so refusals write nothing.
struct bucket {
  double tokens = bucket_policy::capacity;
  int64_t updated_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bucket& x) {
  return f(caf::meta::type_name("example::bucket"), x.tokens, x.updated_ms);
}

class rate_limiter : public durable::object<limiter_api> {
public:
  using object::object;

  behavior_type make_behavior() override {
    return {
        [this](take_atom, uint32_t n) -> caf::result<take_result> {
          if (n == 0 || n > bucket_policy::capacity)
            return durable::make_error(
                durable::errc::invalid_argument,
                "take asks for 1 to " +
                    std::to_string(static_cast<int>(bucket_policy::capacity)) +
                    " tokens");
          return take(n);
        },
        [this](peek_atom) { return look(1, false); },
        [this](stored_atom) {
          return checked(storage().get("bucket")).has_value();
        },
        [this](const durable::fetch_request& req) { return serve(req); },
    };
  }

  /// A full bucket is the same as none: forget it.
  void alarm(const durable::alarm_info&) override {
    auto now = now_ms();
    auto b = refilled(now);
    if (b.tokens >= bucket_policy::capacity)
      check(storage().delete_all());
    else // Taken from since the alarm was set: wait until full again.
      check(storage().set_alarm(full_at(b)));
  }

private:
  static int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
        .count();
  }

  template <class T>
  static T checked(caf::expected<T> x) {
    if (!x)
      throw std::runtime_error(durable::message_of(x.error()));
    return std::move(*x);
  }

  static void check(const caf::error& err) {
    if (err)
      throw std::runtime_error(durable::message_of(err));
  }

  /// The bucket as of `now`.
  bucket refilled(int64_t now) {
    auto stored = checked(storage().get_value<bucket>("bucket"));
    if (!stored)
      return bucket{bucket_policy::capacity, now};
    auto b = *stored;
    auto elapsed = std::max<int64_t>(0, now - b.updated_ms);
    b.tokens = std::min(bucket_policy::capacity,
                        b.tokens + elapsed * bucket_policy::per_second / 1000);
    b.updated_ms = now;
    return b;
  }

  static int64_t full_at(const bucket& b) {
    auto missing = bucket_policy::capacity - b.tokens;
    return b.updated_ms + static_cast<int64_t>(std::ceil(
                              missing * 1000 / bucket_policy::per_second));
  }

  /// What taking `n` tokens gives now; with `commit`, takes them.
  take_result look(uint32_t n, bool commit) {
    auto b = refilled(now_ms());
    take_result result;
    if (b.tokens >= n) {
      result.allowed = true;
      b.tokens -= n;
      if (commit) {
        check(storage().put_value("bucket", b));
        check(storage().set_alarm(full_at(b)));
      }
    } else {
      result.retry_after_ms = static_cast<uint32_t>(
          std::ceil((n - b.tokens) * 1000 / bucket_policy::per_second));
    }
    result.remaining = static_cast<uint32_t>(b.tokens);
    return result;
  }

  take_result take(uint32_t n) { return look(n, true); }

  /// `POST .../take[?n=N]` takes (429 with Retry-After when refused);
  /// `GET` peeks (200). The body is the `take_result` as JSON.
  durable::fetch_response serve(const durable::fetch_request& req) {
    auto path = req.url.substr(0, req.url.find('?'));
    bool is_take =
        path.size() >= 5 && path.compare(path.size() - 5, 5, "/take") == 0;
    if (is_take != (req.method == "POST"))
      return durable::make_text_response(405, "POST .../take or GET\n");
    uint32_t n = 1;
    if (auto q = req.url.find("?n="); q != std::string::npos) {
      auto digits = req.url.substr(q + 3);
      if (digits.empty() || digits.size() > 2 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        return durable::make_text_response(400, "n: 1 to 10\n");
      n = static_cast<uint32_t>(std::stoul(digits));
      if (n == 0 || n > bucket_policy::capacity)
        return durable::make_text_response(400, "n: 1 to 10\n");
    }
    auto x = look(n, is_take);
    nlohmann::json body{{"allowed", x.allowed},
                        {"remaining", x.remaining},
                        {"retry_after_ms", x.retry_after_ms}};
    bool refused = is_take && !x.allowed;
    auto res = durable::make_response(refused ? 429 : 200, "application/json",
                                      body.dump() + "\n");
    if (refused)
      res.headers.emplace_back("retry-after",
                               std::to_string((x.retry_after_ms + 999) / 1000));
    return res;
  }
};

} // namespace example
