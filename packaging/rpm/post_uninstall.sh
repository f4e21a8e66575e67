# p2p: let systemd forget the removed units. State in /var/lib/p2pd and
# /var/lib/trackerd and the users stay (RPM has no purge).
systemctl daemon-reload >/dev/null 2>&1 || :
