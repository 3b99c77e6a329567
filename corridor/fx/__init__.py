"""corridor.fx"""
