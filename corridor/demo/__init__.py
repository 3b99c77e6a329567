"""corridor.demo"""
