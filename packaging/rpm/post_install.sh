# p2p: the users p2pd and trackerd and their state folders. Enables and
# starts nothing: `systemctl enable --now p2pd` (or trackerd) does that.
systemd-sysusers p2pd.conf trackerd.conf || :
systemd-tmpfiles --create p2pd.conf trackerd.conf || :
systemctl daemon-reload >/dev/null 2>&1 || :
