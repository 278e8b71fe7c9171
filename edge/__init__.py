"""The edge: REST and Socket.IO in front of the mesh, translated into gRPC calls and server
streams from the contracts' annotations, with no per-route code."""
