"""corridor.monitoring: places, legs, dwell, notices and arrival forecasts."""
