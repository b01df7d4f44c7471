#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace durable {

/// The 32 random bytes from which every namespace key of a deployment is
/// derived. Whoever knows them can forge IDs, so this type offers no way to
/// print itself and wipes its memory on destruction.
class deployment_secret {
public:
  // -- member types -----------------------------------------------------------

  static constexpr size_t size = 32;

  using bytes_type = std::array<uint8_t, size>;

  // -- constructors, destructors, and assignment operators --------------------

  deployment_secret(const deployment_secret&) = default;

  deployment_secret& operator=(const deployment_secret&) = default;

  ~deployment_secret();

  // -- factories --------------------------------------------------------------

  /// Reads the secret from `path`, or creates it there with fresh random bytes
  /// (mode 0600, parent directories 0700) if the file does not exist. A file
  /// that is not exactly 32 bytes, or that group or others may access, is an
  /// `errc::invalid_argument` error naming the path (never the content).
  static caf::expected<deployment_secret>
  load_or_create(const std::string& path);

  /// Parses 64 hex digits (either case), e.g. from the configuration. The
  /// error never echoes the input.
  static caf::expected<deployment_secret> from_hex(std::string_view hex64);

  /// Wraps `bytes` as they are (for tests and embedding).
  static deployment_secret from_bytes(const bytes_type& bytes) noexcept;

  // -- properties -------------------------------------------------------------

  const bytes_type& bytes() const noexcept { return bytes_; }

  /// HMAC-SHA256(secret, purpose): a key for one purpose, from which the
  /// secret cannot be recovered.
  bytes_type derive(std::string_view purpose) const;

private:
  explicit deployment_secret(const bytes_type& bytes) noexcept;

  bytes_type bytes_;
};

} // namespace durable
