#pragma once

namespace durable::cluster {

/// Links in the wrappers of openssl_error_queue.cpp (call once; no-op).
void keep_openssl_error_queue_clean();

} // namespace durable::cluster
