# A single-server Consul agent for one machine: it is its own leader, binds only to loopback
# and serves the HTTP API the mesh uses for registration, health checks and discovery.
# Ports and the data directory come from the command line (see mesh/infra/components/consul.py).
server           = true
bootstrap_expect = 1
bind_addr        = "127.0.0.1"
client_addr      = "127.0.0.1"
advertise_addr   = "127.0.0.1"

log_level            = "INFO"
disable_update_check = true
enable_script_checks = false
leave_on_terminate   = true

ui_config {
  enabled = true
}

ports {
  dns      = -1
  grpc     = -1
  grpc_tls = -1
  serf_wan = -1
}

performance {
  raft_multiplier = 1
}
