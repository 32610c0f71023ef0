/* sieve_snm_plugin.c — lib90_sieve_snm_plugin.so, the Pigeonhole plugin that
 * lets sieve scripts teach rspamd. The only file in snm that touches
 * Pigeonhole's API (its headers do not compile as C++); the learning itself
 * is C++ behind learn_bridge.h.
 *
 * Loaded with   sieve_plugins = sieve_imapsieve sieve_snm
 *               sieve_plugin_dir = <directory holding this .so>
 * it registers the sieve extension "vnd.snm.learn" (enable it for
 * administrator scripts only: sieve_global_extensions = +vnd.snm.learn) with
 * one command:
 *
 *     require "vnd.snm.learn";
 *     learn "spam";        # or "ham"
 *
 * `learn` adds an action; when the script's result is committed the current
 * message (for imapsieve: the copied/appended one) is sent to rspamd's
 * controller, /learnspam or /learnham. A learn never fails the script and so
 * never fails the user's IMAP command: an unreachable rspamd, a timeout or a
 * refusal is logged as an error and the script goes on; a message rspamd has
 * already learned counts as success.
 *
 * Settings (plugin { } section; read when the extension loads):
 *   snm_learn_controller     unix:PATH or inet:HOST:PORT of rspamd's
 *                            controller worker (required)
 *   snm_learn_password_file  file whose first line is the controller password
 *                            (sent as the Password header; optional, read at
 *                            each learn)
 *   snm_learn_timeout        limit for one whole exchange: 500ms, 5s, 1m
 *                            (default 5s, at most 1m)
 * A bad controller or timeout makes every script requiring vnd.snm.learn fail
 * to compile, naming the setting: sievec reports it at deployment time.
 */

#include "lib.h"
#include "buffer.h"
#include "istream.h"
#include "mail-storage.h"
#include "mail-user.h"
#include "str-sanitize.h"

#include "sieve-common.h"
#include "sieve-actions.h"
#include "sieve-binary.h"
#include "sieve-code.h"
#include "sieve-commands.h"
#include "sieve-dump.h"
#include "sieve-extensions.h"
#include "sieve-generator.h"
#include "sieve-interpreter.h"
#include "sieve-message.h"
#include "sieve-result.h"
#include "sieve-settings.h"
#include "sieve-validator.h"

#include "learn_bridge.h"

#define SNM_EXPORT __attribute__((visibility("default")))

#define SNM_LEARN_SETTING_CONTROLLER "snm_learn_controller"
#define SNM_LEARN_SETTING_PASSWORD_FILE "snm_learn_password_file"
#define SNM_LEARN_SETTING_TIMEOUT "snm_learn_timeout"
/* Longest class argument quoted in an error message. */
#define SNM_LEARN_MAX_QUOTED 40

/* The plugin interface Pigeonhole looks up by name (sieve-plugins.c). */
SNM_EXPORT extern const char *sieve_snm_plugin_version;
SNM_EXPORT void sieve_snm_plugin_init(void);
SNM_EXPORT void sieve_snm_plugin_deinit(void);
SNM_EXPORT void sieve_snm_plugin_load(struct sieve_instance *svinst, void **context);
SNM_EXPORT void sieve_snm_plugin_unload(struct sieve_instance *svinst, void *context);

const char *sieve_snm_plugin_version = PIGEONHOLE_ABI_VERSION;

static const struct sieve_extension_def snm_learn_extension;
static const struct sieve_operation_def snm_learn_operation;

/*
 * Extension: settings parsed once per sieve instance (i.e. per user)
 */

struct snm_learn_config {
	struct snm_learner *learner; /* NULL when the settings are bad */
	char error[SNM_LEARN_MESSAGE_SIZE];
};

static bool snm_learn_ext_load(const struct sieve_extension *ext, void **context)
{
	struct sieve_instance *svinst = ext->svinst;
	struct snm_learn_config *config = *context;

	if (config == NULL)
		config = i_new(struct snm_learn_config, 1);
	else
		snm_learner_free(&config->learner);
	config->learner = snm_learner_new(
		sieve_setting_get(svinst, SNM_LEARN_SETTING_CONTROLLER),
		sieve_setting_get(svinst, SNM_LEARN_SETTING_PASSWORD_FILE),
		sieve_setting_get(svinst, SNM_LEARN_SETTING_TIMEOUT),
		config->error);
	if (config->learner == NULL) {
		e_error(svinst->event, "%s: bad settings (%s, %s, %s): %s",
			snm_learn_extension.name, SNM_LEARN_SETTING_CONTROLLER,
			SNM_LEARN_SETTING_PASSWORD_FILE, SNM_LEARN_SETTING_TIMEOUT,
			config->error);
	}
	*context = config;
	return TRUE;
}

static void snm_learn_ext_unload(const struct sieve_extension *ext)
{
	struct snm_learn_config *config = ext->context;

	if (config == NULL)
		return;
	snm_learner_free(&config->learner);
	i_free(config);
}

/* `require "vnd.snm.learn"` fails to compile while the settings are bad. */
static bool
snm_learn_validator_validate(const struct sieve_extension *ext,
			     struct sieve_validator *valdtr,
			     void *context ATTR_UNUSED,
			     struct sieve_ast_argument *require_arg,
			     bool required ATTR_UNUSED)
{
	const struct snm_learn_config *config = ext->context;

	if (config != NULL && config->learner != NULL)
		return TRUE;
	sieve_argument_validate_error(valdtr, require_arg,
		"%s cannot be used: %s", snm_learn_extension.name,
		config == NULL ? "the extension is not loaded" : config->error);
	return FALSE;
}

static const struct sieve_validator_extension snm_learn_validator_extension = {
	.ext = &snm_learn_extension,
	.validate = snm_learn_validator_validate,
};

/*
 * Command: learn <class: "spam" / "ham">
 */

static bool snm_learn_class_valid(const char *class_name, bool *is_spam_r)
{
	*is_spam_r = strcmp(class_name, "spam") == 0;
	return *is_spam_r || strcmp(class_name, "ham") == 0;
}

static bool snm_learn_cmd_validate(struct sieve_validator *valdtr, struct sieve_command *cmd)
{
	struct sieve_ast_argument *arg = cmd->first_positional;
	bool is_spam;

	if (!sieve_validate_positional_argument(valdtr, cmd, arg, "class", 1, SAAT_STRING))
		return FALSE;
	if (!sieve_validator_argument_activate(valdtr, cmd, arg, FALSE))
		return FALSE;
	if (sieve_argument_is_string_literal(arg) &&
	    !snm_learn_class_valid(sieve_ast_argument_strc(arg), &is_spam)) {
		sieve_argument_validate_error(valdtr, arg,
			"learn: the class must be \"spam\" or \"ham\", not \"%s\"",
			str_sanitize(sieve_ast_argument_strc(arg), SNM_LEARN_MAX_QUOTED));
		return FALSE;
	}
	return TRUE;
}

static bool snm_learn_cmd_generate(const struct sieve_codegen_env *cgenv, struct sieve_command *cmd)
{
	sieve_operation_emit(cgenv->sblock, cmd->ext, &snm_learn_operation);
	return sieve_generate_arguments(cgenv, cmd, NULL);
}

static const struct sieve_command_def snm_learn_command = {
	.identifier = "learn",
	.type = SCT_COMMAND,
	.positional_args = 1,
	.subtests = 0,
	.block_allowed = FALSE,
	.block_required = FALSE,
	.validate = snm_learn_cmd_validate,
	.generate = snm_learn_cmd_generate,
};

static bool snm_learn_validator_load(const struct sieve_extension *ext, struct sieve_validator *valdtr)
{
	sieve_validator_register_command(valdtr, ext, &snm_learn_command);
	sieve_validator_extension_register(valdtr, ext, &snm_learn_validator_extension, NULL);
	return TRUE;
}

/*
 * Action: the learn itself, run when the result is committed
 */

struct snm_learn_action {
	bool is_spam;
};

static const char *snm_learn_class_name(bool is_spam)
{
	return is_spam ? "spam" : "ham";
}

/* A second learn of the same class is dropped; opposite classes conflict. */
static int
snm_learn_act_check_duplicate(const struct sieve_runtime_env *renv,
			      const struct sieve_action *act,
			      const struct sieve_action *act_other)
{
	const struct snm_learn_action *new_act = act->context;
	const struct snm_learn_action *old_act = act_other->context;

	if (new_act->is_spam == old_act->is_spam)
		return 1;
	sieve_runtime_error(renv, act->location,
		"learn \"%s\" conflicts with learn \"%s\" (triggered here: %s)",
		snm_learn_class_name(new_act->is_spam),
		snm_learn_class_name(old_act->is_spam), act_other->location);
	return -1;
}

static void
snm_learn_act_print(const struct sieve_action *action,
		    const struct sieve_result_print_env *rpenv,
		    bool *keep ATTR_UNUSED)
{
	const struct snm_learn_action *act = action->context;

	sieve_result_action_printf(rpenv, "teach rspamd this message is %s",
				   snm_learn_class_name(act->is_spam));
}

/* Reads the whole message into `buffer`; -1 with `error_r` on failure. */
static int snm_learn_read_mail(struct mail *mail, buffer_t *buffer, const char **error_r)
{
	struct istream *input;
	const unsigned char *data;
	size_t size;

	if (mail_get_stream(mail, NULL, NULL, &input) < 0) {
		*error_r = mailbox_get_last_internal_error(mail->box, NULL);
		return -1;
	}
	while (i_stream_read_more(input, &data, &size) > 0) {
		if (buffer->used + size > SNM_LEARN_MAX_MESSAGE_BYTES) {
			*error_r = t_strdup_printf("message is larger than %zu bytes",
						   SNM_LEARN_MAX_MESSAGE_BYTES);
			return -1;
		}
		buffer_append(buffer, data, size);
		i_stream_skip(input, size);
	}
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("cannot read the message: %s", i_stream_get_error(input));
		return -1;
	}
	return 0;
}

static int snm_learn_act_commit(const struct sieve_action_exec_env *aenv, void *tr_context ATTR_UNUSED)
{
	const struct sieve_action *action = aenv->action;
	const struct snm_learn_action *act = action->context;
	const struct snm_learn_config *config = action->ext->context;
	const struct sieve_script_env *senv = aenv->exec_env->scriptenv;
	struct mail *mail = action->mail != NULL ? action->mail : sieve_message_get_mail(aenv->msgctx);
	const char *class_name = snm_learn_class_name(act->is_spam);
	const char *user = senv != NULL && senv->user != NULL ? senv->user->username : NULL;
	char detail[SNM_LEARN_MESSAGE_SIZE];
	const char *error;
	enum snm_learn_status status;
	buffer_t *message;

	if (config == NULL || config->learner == NULL) {
		e_error(aenv->event, "learn %s: not learned: %s", class_name,
			config == NULL ? "extension not loaded" : config->error);
		return SIEVE_EXEC_OK;
	}
	if (mail == NULL) {
		e_error(aenv->event, "learn %s: no message to learn", class_name);
		return SIEVE_EXEC_OK;
	}
	message = buffer_create_dynamic(default_pool, 8192);
	if (snm_learn_read_mail(mail, message, &error) < 0) {
		e_error(aenv->event, "learn %s: not learned: %s", class_name, error);
		buffer_free(&message);
		return SIEVE_EXEC_OK;
	}
	status = snm_learner_learn(config->learner, act->is_spam ? 1 : 0, message->data, message->used, user, detail);
	buffer_free(&message);

	/* Dovecot's log directly, not sieve_result_global_log*(): imapsieve
	   logs those at debug or info level only, while every learn is a
	   decision worth one line and a failure is an error for the admin. */
	switch (status) {
	case SNM_LEARN_LEARNED:
		e_info(aenv->event, "learn %s: rspamd learned the message (%s)", class_name,
		       snm_learner_controller(config->learner));
		break;
	case SNM_LEARN_ALREADY_LEARNED:
		e_info(aenv->event, "learn %s: rspamd had already learned the message (%s)", class_name,
		       snm_learner_controller(config->learner));
		break;
	case SNM_LEARN_FAILED:
		e_error(aenv->event, "learn %s: not learned (the mail operation is unaffected): %s",
			class_name, detail);
		break;
	}
	return SIEVE_EXEC_OK;
}

static const struct sieve_action_def snm_learn_act = {
	.name = "learn",
	.flags = 0,
	.check_duplicate = snm_learn_act_check_duplicate,
	.print = snm_learn_act_print,
	.commit = snm_learn_act_commit,
};

/*
 * Operation: LEARN <class: string>
 */

static bool snm_learn_op_dump(const struct sieve_dumptime_env *denv, sieve_size_t *address)
{
	sieve_code_dumpf(denv, "SNM_LEARN");
	sieve_code_descend(denv);
	return sieve_opr_string_dump(denv, address, "class");
}

static int snm_learn_op_execute(const struct sieve_runtime_env *renv, sieve_size_t *address)
{
	struct snm_learn_action *act;
	string_t *class_name;
	bool is_spam;
	int ret;

	if ((ret = sieve_opr_string_read(renv, address, "class", &class_name)) <= 0)
		return ret;
	if (!snm_learn_class_valid(str_c(class_name), &is_spam)) {
		sieve_runtime_error(renv, NULL,
			"learn: the class must be \"spam\" or \"ham\", not \"%s\"",
			str_sanitize(str_c(class_name), SNM_LEARN_MAX_QUOTED));
		return SIEVE_EXEC_FAILURE;
	}
	sieve_runtime_trace(renv, SIEVE_TRLVL_ACTIONS, "learn \"%s\" action", snm_learn_class_name(is_spam));

	act = p_new(sieve_result_pool(renv->result), struct snm_learn_action, 1);
	act->is_spam = is_spam;
	if (sieve_result_add_action(renv, renv->oprtn->ext, "learn", &snm_learn_act, NULL, act, 0, TRUE) < 0)
		return SIEVE_EXEC_FAILURE;
	return SIEVE_EXEC_OK;
}

static const struct sieve_operation_def snm_learn_operation = {
	.mnemonic = "SNM_LEARN",
	.ext_def = &snm_learn_extension,
	.dump = snm_learn_op_dump,
	.execute = snm_learn_op_execute,
};

static const struct sieve_extension_def snm_learn_extension = {
	.name = "vnd.snm.learn",
	.load = snm_learn_ext_load,
	.unload = snm_learn_ext_unload,
	.validator_load = snm_learn_validator_load,
	SIEVE_EXT_DEFINE_OPERATION(snm_learn_operation),
};

/*
 * Plugin interface
 */

void sieve_snm_plugin_init(void)
{
}

void sieve_snm_plugin_deinit(void)
{
}

void sieve_snm_plugin_load(struct sieve_instance *svinst, void **context)
{
	*context = (void *)sieve_extension_register(svinst, &snm_learn_extension, FALSE);
}

void sieve_snm_plugin_unload(struct sieve_instance *svinst ATTR_UNUSED, void *context)
{
	sieve_extension_unregister(context);
}
