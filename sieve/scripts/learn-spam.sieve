# learn-spam.sieve — imapsieve script for messages copied, moved or appended
# into the Junk mailbox: rspamd learns them as spam (vnd.snm.learn, from
# lib90_sieve_snm_plugin.so). A failed learn is logged and never fails the
# user's IMAP command. Settings: dovecot-sieve.conf.in in this folder.
require ["vnd.snm.learn"];

learn "spam";
