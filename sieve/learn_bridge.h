/* learn_bridge.h — the C interface between the Pigeonhole glue
 * (sieve_snm_plugin.c, which cannot include C++ headers and whose Pigeonhole
 * headers cannot be compiled as C++) and the C++ learning client
 * (controller_client.hpp). No C++ exception crosses it: every failure comes
 * back as a status and a message for the log.
 */
#ifndef SNM_LEARN_BRIDGE_H
#define SNM_LEARN_BRIDGE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the buffers that receive a message for the log. */
#define SNM_LEARN_MESSAGE_SIZE 512
/* Largest message taught (rspamd's default max_message); equals
 * snm::sieve::kMaxMessageBytes. */
#define SNM_LEARN_MAX_MESSAGE_BYTES ((size_t)50 * 1024 * 1024)

struct snm_learner;

enum snm_learn_status {
	SNM_LEARN_LEARNED,
	SNM_LEARN_ALREADY_LEARNED,
	SNM_LEARN_FAILED
};

/* Parses the settings once: `controller` is unix:PATH or inet:HOST:PORT,
 * `password_file` may be NULL or empty (no Password header), `timeout` may
 * be NULL or empty (the default, 5s). Returns NULL and a message in `error`
 * when a setting is bad. The password file is read at each learn, so a
 * rotated password is picked up and an unreadable file is reported there. */
struct snm_learner *snm_learner_new(const char *controller, const char *password_file, const char *timeout,
				    char error[SNM_LEARN_MESSAGE_SIZE]);
void snm_learner_free(struct snm_learner **learner);

/* The controller, as configured, for log lines. */
const char *snm_learner_controller(const struct snm_learner *learner);

/* Teaches `message` (`size` bytes) as spam (is_spam != 0) or ham. `user`
 * (may be NULL) is sent as Deliver-To. On SNM_LEARN_FAILED `detail` says
 * why, naming the controller. Blocks for at most the configured timeout. */
enum snm_learn_status snm_learner_learn(const struct snm_learner *learner, int is_spam, const void *message,
					size_t size, const char *user, char detail[SNM_LEARN_MESSAGE_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
