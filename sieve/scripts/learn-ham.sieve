# learn-ham.sieve — imapsieve script for messages copied or moved out of the
# Junk mailbox: rspamd learns them as ham, except when the destination is the
# Trash (deleting spam must not teach ham) or Junk itself. Both are recognised
# by their special-use flags, not by name. Settings: dovecot-sieve.conf.in.
require ["vnd.snm.learn", "imapsieve", "environment", "variables", "special-use"];

if environment :matches "imap.mailbox" "*" {
    set "destination" "${1}";
}
if anyof (specialuse_exists "${destination}" "\\Trash",
          specialuse_exists "${destination}" "\\Junk") {
    stop;
}
learn "ham";
