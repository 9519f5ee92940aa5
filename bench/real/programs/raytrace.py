"""A recursive ray tracer: spheres and planes, point lights, shadows, reflections, checkerboards.

Vectors are immutable objects with operator overloading; shapes form a small class hierarchy;
materials are frozen dataclasses. The image is kept as rows of integer RGB triples and reduced to
a checksum; a coarse ASCII rendering of the luminance is printed too.
Usage: raytrace.py [WIDTH]   (the image is WIDTH x WIDTH*3/4 pixels)
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import List, Optional, Tuple

DEFAULT_SIZE = 220  # image width in pixels
EPSILON = 1e-7
MAX_DEPTH = 4


class Vec:
    __slots__ = ("x", "y", "z")

    def __init__(self, x: float, y: float, z: float) -> None:
        self.x, self.y, self.z = x, y, z

    def __add__(self, o: Vec) -> Vec:
        return Vec(self.x + o.x, self.y + o.y, self.z + o.z)

    def __sub__(self, o: Vec) -> Vec:
        return Vec(self.x - o.x, self.y - o.y, self.z - o.z)

    def __mul__(self, k: float) -> Vec:
        return Vec(self.x * k, self.y * k, self.z * k)

    __rmul__ = __mul__

    def __neg__(self) -> Vec:
        return Vec(-self.x, -self.y, -self.z)

    def dot(self, o: Vec) -> float:
        return self.x * o.x + self.y * o.y + self.z * o.z

    def cross(self, o: Vec) -> Vec:
        return Vec(self.y * o.z - self.z * o.y, self.z * o.x - self.x * o.z, self.x * o.y - self.y * o.x)

    def length(self) -> float:
        return math.sqrt(self.dot(self))

    def normalized(self) -> Vec:
        n = self.length()
        return Vec(self.x / n, self.y / n, self.z / n)

    def reflect(self, normal: Vec) -> Vec:
        return self - normal * (2 * self.dot(normal))

    def __repr__(self) -> str:
        return f"Vec({self.x:.3f}, {self.y:.3f}, {self.z:.3f})"


BLACK = Vec(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Material:
    color: Tuple[float, float, float]
    diffuse: float = 0.8
    specular: float = 0.2
    shininess: float = 30.0
    reflectivity: float = 0.0
    checker: Optional[Tuple[float, float, float]] = None

    def color_at(self, point: Vec) -> Vec:
        if self.checker is not None and (math.floor(point.x) + math.floor(point.z)) % 2:
            return Vec(*self.checker)
        return Vec(*self.color)


class Ray:
    __slots__ = ("origin", "direction")

    def __init__(self, origin: Vec, direction: Vec) -> None:
        self.origin = origin
        self.direction = direction.normalized()

    def at(self, t: float) -> Vec:
        return self.origin + self.direction * t


class Shape:
    def __init__(self, material: Material) -> None:
        self.material = material

    def intersect(self, ray: Ray) -> Optional[float]:
        raise NotImplementedError

    def normal_at(self, point: Vec) -> Vec:
        raise NotImplementedError


class Sphere(Shape):
    def __init__(self, center: Vec, radius: float, material: Material) -> None:
        super().__init__(material)
        self.center = center
        self.radius = radius

    def intersect(self, ray: Ray) -> Optional[float]:
        oc = ray.origin - self.center
        b = oc.dot(ray.direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0:
            return None
        root = math.sqrt(disc)
        for t in (-b - root, -b + root):
            if t > EPSILON:
                return t
        return None

    def normal_at(self, point: Vec) -> Vec:
        return (point - self.center).normalized()


class Plane(Shape):
    def __init__(self, point: Vec, normal: Vec, material: Material) -> None:
        super().__init__(material)
        self.point = point
        self.normal = normal.normalized()

    def intersect(self, ray: Ray) -> Optional[float]:
        denom = self.normal.dot(ray.direction)
        if abs(denom) < EPSILON:
            return None
        t = (self.point - ray.origin).dot(self.normal) / denom
        return t if t > EPSILON else None

    def normal_at(self, point: Vec) -> Vec:
        return self.normal


@dataclass
class Light:
    position: Vec
    intensity: float


class Scene:
    def __init__(self) -> None:
        self.shapes: List[Shape] = []
        self.lights: List[Light] = []
        self.ambient = 0.1
        self.rays_cast = 0

    def add(self, *shapes: Shape) -> Scene:
        self.shapes.extend(shapes)
        return self

    def closest(self, ray: Ray) -> Tuple[Optional[Shape], float]:
        self.rays_cast += 1
        best, best_t = None, math.inf
        for shape in self.shapes:
            t = shape.intersect(ray)
            if t is not None and t < best_t:
                best, best_t = shape, t
        return best, best_t

    def in_shadow(self, point: Vec, light: Light) -> bool:
        to_light = light.position - point
        distance = to_light.length()
        shape, t = self.closest(Ray(point, to_light))
        return shape is not None and t < distance

    def trace(self, ray: Ray, depth: int = 0) -> Vec:
        shape, t = self.closest(ray)
        if shape is None:
            fade = 0.5 * (ray.direction.y + 1.0)
            return Vec(0.6, 0.7, 0.9) * fade + Vec(1.0, 1.0, 1.0) * (1 - fade) * 0.3
        point = ray.at(t)
        normal = shape.normal_at(point)
        if normal.dot(ray.direction) > 0:
            normal = -normal
        mat = shape.material
        base = mat.color_at(point)
        color = base * self.ambient
        for light in self.lights:
            if self.in_shadow(point + normal * 1e-4, light):
                continue
            to_light = (light.position - point).normalized()
            lambert = max(0.0, normal.dot(to_light))
            color = color + base * (mat.diffuse * lambert * light.intensity)
            half = (to_light - ray.direction).normalized()
            spec = max(0.0, normal.dot(half)) ** mat.shininess
            color = color + Vec(1.0, 1.0, 1.0) * (mat.specular * spec * light.intensity)
        if mat.reflectivity > 0 and depth < MAX_DEPTH:
            bounce = Ray(point + normal * 1e-4, ray.direction.reflect(normal))
            color = color * (1 - mat.reflectivity) + self.trace(bounce, depth + 1) * mat.reflectivity
        return color


def build_scene() -> Scene:
    scene = Scene()
    mirror = Material((0.9, 0.9, 0.9), diffuse=0.3, specular=0.8, reflectivity=0.6, shininess=80)
    scene.add(
        Plane(Vec(0, -1, 0), Vec(0, 1, 0), Material((0.9, 0.9, 0.9), checker=(0.1, 0.1, 0.1), reflectivity=0.2)),
        Sphere(Vec(0, 0, 6), 1.0, mirror),
        Sphere(Vec(-2.2, -0.2, 7), 0.8, Material((0.9, 0.2, 0.2))),
        Sphere(Vec(2.1, -0.4, 5.5), 0.6, Material((0.2, 0.8, 0.3), reflectivity=0.3)),
        Sphere(Vec(0.8, 1.6, 8), 0.9, Material((0.2, 0.3, 0.9), specular=0.6)),
    )
    scene.lights += [Light(Vec(-5, 6, 0), 0.8), Light(Vec(4, 3, 2), 0.5)]
    return scene


class Camera:
    def __init__(self, eye: Vec, target: Vec, fov_degrees: float) -> None:
        self.eye = eye
        self.forward = (target - eye).normalized()
        self.right = Vec(0, 1, 0).cross(self.forward).normalized()
        self.up = self.forward.cross(self.right)
        self.scale = math.tan(math.radians(fov_degrees) / 2)

    def ray(self, u: float, v: float) -> Ray:
        d = self.forward + self.right * (u * self.scale) + self.up * (v * self.scale)
        return Ray(self.eye, d)


def to_byte(c: float) -> int:
    return int(255 * min(1.0, max(0.0, c)) + 0.5)


def render(width: int, height: int) -> Tuple[List[List[Tuple[int, int, int]]], int]:
    scene = build_scene()
    camera = Camera(Vec(0, 0.5, 0), Vec(0, 0, 6), 60)
    aspect = width / height
    image = []
    for j in range(height):
        v = 1 - 2 * (j + 0.5) / height
        row = []
        for i in range(width):
            u = (2 * (i + 0.5) / width - 1) * aspect
            c = scene.trace(camera.ray(u, v))
            row.append((to_byte(c.x), to_byte(c.y), to_byte(c.z)))
        image.append(row)
    return image, scene.rays_cast


def main(width: int) -> None:
    height = max(1, width * 3 // 4)
    image, rays = render(width, height)
    shades = " .:-=+*#%@"
    step_y, step_x = max(1, height // 12), max(1, width // 32)
    for row in image[::step_y]:
        line = "".join(shades[min(9, (r + g + b) * 10 // 766)] for r, g, b in row[::step_x])
        print(line.rstrip())
    checksum = 0
    for row in image:
        for r, g, b in row:
            checksum = (checksum * 131 + r * 65536 + g * 256 + b) % 2_147_483_647
    print(f"{width}x{height} pixels, {rays} rays")
    print(f"checksum {checksum}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SIZE)
