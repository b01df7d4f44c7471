#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "durable/secret.hpp"
#include "durable/storage_engine.hpp"

namespace durable {

/// The `meta` key of the global environment that holds the fingerprint of
/// the deployment secret a data directory was first opened with.
constexpr const char* secret_fingerprint_key = "deployment/secret-fingerprint";

/// Returns 32 hex digits that identify `secret` without revealing it: the
/// first 16 bytes of HMAC-SHA256(secret, "caf-durable/secret-fingerprint").
std::string secret_fingerprint(const deployment_secret& secret);

/// Checks `secret` against the fingerprint recorded in the global
/// environment of `engine`. A data directory without one records it (unless
/// the engine is read-only): the first secret a directory sees is its
/// secret. A mismatch is `errc::invalid_argument` saying that the secret
/// changed (lost secret file, other `DURABLE_SECRET`) and how to adopt the
/// new one deliberately; it never shows either secret.
caf::error check_secret_fingerprint(storage_engine& engine,
                                    const deployment_secret& secret);

/// Records the fingerprint of `secret` in the global environment of
/// `engine`, replacing any other (the re-key path of `durable-admin secret
/// adopt`): named objects then get new IDs, and the data of the old ones is
/// no longer reachable through the namespaces.
caf::error adopt_secret(storage_engine& engine,
                        const deployment_secret& secret);

} // namespace durable
