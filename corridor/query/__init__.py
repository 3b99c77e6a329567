"""corridor.query"""
