"""draas: Disaster Recovery as a Service for OpenStack workloads, as Mistral actions."""
