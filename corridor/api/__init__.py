"""corridor.api"""
