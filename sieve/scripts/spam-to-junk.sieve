# spam-to-junk.sieve — snm's global sieve_after script (as SNM's): a message
# rspamd marked "X-Spam: Yes" is filed into the mailbox whose special-use
# flag is \Junk, whatever it is called; only when no mailbox has the flag is
# it filed into "Junk", created if missing. A user's own script runs first
# (sieve_after), so its rules (and its `stop`) win.
require ["fileinto", "mailbox", "special-use"];

if header :is "X-Spam" "Yes" {
    fileinto :specialuse "\\Junk" :create "Junk";
    stop;
}
