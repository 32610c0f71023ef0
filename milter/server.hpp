// server.hpp — snm-dkim-milter's listener: one thread per MTA connection
// (signing is CPU-bound; threads spread it over the cores), each reading
// packets into a reused buffer, handing them to its MilterSession, and
// writing the replies of a batch in one write. TCP sockets get TCP_NODELAY
// so an answer never waits for a delayed ACK.
//
// SIGHUP re-reads the snapshot and keys (KeyStore). SIGTERM/SIGINT stop
// accepting; each connection closes at its next message boundary, and the
// process exits when all have, or after kDrainTimeout.
#pragma once

#include "key_set.hpp"
#include "milter_limits.hpp"

namespace snm::milter {


// Serves `listen_fd` until SIGTERM/SIGINT arrives on `signal_fd` (a
// signalfd from signal_events()). Returns the process exit status.
// `keys` is shared with the connection threads, which may outlive the call.
int serve(int listen_fd, int signal_fd, std::shared_ptr<KeyStore> keys);

}  // namespace snm::milter
